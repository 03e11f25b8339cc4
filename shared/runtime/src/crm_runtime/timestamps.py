"""Timestamps as stored in MongoDB: fixed-width UTC ISO-8601 strings.

Why not BSON dates: the MongoDB stand-in keeps a datetime's type on insert but turns one
written by ``$set`` into a string, and mixed types break ``$lte`` and sorting. A
fixed-width UTC string sorts chronologically, compares correctly with ``$lt/$lte`` and
reads the same on real MongoDB and on the stand-in. Every timestamp a repository writes
(due dates, domain times, applied marks) goes through ``stamp``; reads go through
``unstamp``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def stamp(moment: datetime) -> str:
    """``2026-03-01T09:02:00.500000Z`` — always 27 characters, always UTC."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: timestamps must carry a timezone")
    return moment.astimezone(UTC).strftime(_FORMAT)


def unstamp(value: Any) -> datetime:
    """Read a stored timestamp (a stamp string, or a datetime written by older code)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return datetime.strptime(value, _FORMAT).replace(tzinfo=UTC)
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
