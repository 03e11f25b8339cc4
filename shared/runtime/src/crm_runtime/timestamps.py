"""Timestamps as stored in MongoDB: fixed-width UTC ISO-8601 strings.

Why not BSON dates: the MongoDB stand-in keeps a datetime's type on insert but turns one
written by ``$set`` into a string, and mixed types break ``$lte`` and sorting. A
fixed-width UTC string sorts chronologically, compares correctly with ``$lt/$lte`` and
reads the same on real MongoDB and on the stand-in. Every timestamp a repository writes
(due dates, domain times, applied marks) goes through ``stamp``; reads go through
``unstamp``.

The format is fixed, not locale- or platform-dependent: ``strftime("%Y")`` does not pad
years below 1000 on glibc, which once stored ``587-04-10T…`` and broke every later read.
Reading is strict (exactly the 27-character form), so a malformed stored value fails
loudly where it is read instead of being guessed at. Which instants may be stored at all
is decided at the validation edge (``crm_events.bounds``); the codec itself round-trips
every aware datetime of years 1 to 9999.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

STAMP_LENGTH = 27
_STAMP = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"T(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})\.(?P<microsecond>\d{6})Z",
    re.ASCII,
)


def stamp(moment: datetime) -> str:
    """``2026-03-01T09:02:00.500000Z`` — always 27 characters, always UTC."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: timestamps must carry a timezone")
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def unstamp(value: Any) -> datetime:
    """Read a stored timestamp (a stamp string, or a datetime written by older code)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        match = _STAMP.fullmatch(value)
        if match is None:
            raise ValueError(f"not a stored timestamp: {value!r}")
        return datetime(**{k: int(v) for k, v in match.groupdict().items()}, tzinfo=UTC)
    raise TypeError(f"not a stored timestamp: {type(value).__name__}")


def unstamp_optional(value: Any) -> datetime | None:
    return None if value is None else unstamp(value)


def stamp_values(values: dict[str, Any]) -> dict[str, Any]:
    """A copy with every datetime value (one level deep) replaced by its stamp."""
    return {k: stamp(v) if isinstance(v, datetime) else v for k, v in values.items()}


def stamp_tree(value: Any) -> Any:
    """A copy of a document tree (dicts, lists) with every datetime replaced by its stamp."""
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, dict):
        return {k: stamp_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stamp_tree(v) for v in value]
    return value
