"""The validation edge for values: one definition of every bounded type, used by every
contract and every HTTP request model.

Why bounds at all: a value the stores cannot hold, or cannot read back, must be refused
where it enters (HTTP 422, Kafka DLQ), never discovered by the handler or by a later read.

- Timestamps are timezone-aware, normalised to UTC and lie in ``TIME_MIN`` … ``TIME_MAX``
  (both inclusive): far wider than any customer relationship, narrow enough that every
  value has a four-digit year and round-trips through the stored format
  (``crm_runtime.timestamps``) and through every JSON/date library an integrator uses.
- Integers never exceed int64 (what MongoDB stores); money and points stay below 2^53 so
  every JSON consumer (JavaScript included) reads them exactly; counts and durations have
  business maxima.

The bounds appear in the generated JSON Schemas: ``minimum``/``maximum`` for integers,
``format: date-time`` with ``formatMinimum``/``formatMaximum`` for timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

TIME_MIN = datetime(1900, 1, 1, tzinfo=UTC)
TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)
TIME_MIN_TEXT = "1900-01-01T00:00:00Z"
TIME_MAX_TEXT = "2200-01-01T00:00:00Z"
TIME_RANGE_SECONDS = int((TIME_MAX - TIME_MIN).total_seconds())
TIME_RANGE_DAYS = (TIME_MAX - TIME_MIN).days

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
JSON_SAFE_MAX = 2**53 - 1  # the largest integer every JSON reader holds exactly
MAX_AMOUNT_MINOR = 10**15  # one amount of one fact: 10 trillion in major units
MAX_POINTS = JSON_SAFE_MAX  # balances accumulate; they must still read back exactly
MAX_COUNT = 1_000_000  # items, rounds, levels: nothing the domain counts comes near
MAX_PERCENT = 10_000  # multipliers: up to 100 times


def utc_in_range(moment: datetime) -> datetime:
    """Normalise to UTC and refuse instants outside the documented range."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 has no UTC year
        utc = None
    if utc is None or not TIME_MIN <= utc <= TIME_MAX:
        raise ValueError(
            f"timestamp must lie between {TIME_MIN_TEXT} and {TIME_MAX_TEXT} (inclusive)"
        )
    return utc


Timestamp = Annotated[
    AwareDatetime,
    AfterValidator(utc_in_range),
    Field(
        description=(
            f"RFC 3339 timestamp with offset, normalised to UTC; "
            f"from {TIME_MIN_TEXT} to {TIME_MAX_TEXT} inclusive."
        ),
        json_schema_extra={"formatMinimum": TIME_MIN_TEXT, "formatMaximum": TIME_MAX_TEXT},
    ),
]
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX, description="Signed 64-bit integer.")]
AmountMinor = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_AMOUNT_MINOR,
        description="Amount in the currency's minor unit (e.g. cents), at most 10^15.",
    ),
]
TotalMinor = Annotated[
    int,
    Field(
        ge=0,
        le=JSON_SAFE_MAX,
        description="An accumulated amount in minor units (e.g. a settled balance), < 2^53.",
    ),
]
Points = Annotated[
    int, Field(ge=0, le=MAX_POINTS, description="Loyalty points (whole numbers, < 2^53).")
]
SignedPoints = Annotated[
    int,
    Field(ge=-MAX_POINTS, le=MAX_POINTS, description="Signed points (|value| < 2^53)."),
]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT, description="A count, at most 10^6.")]
Seconds = Annotated[
    int,
    Field(
        ge=0,
        le=TIME_RANGE_SECONDS,
        description="A duration in whole seconds, at most the timestamp range.",
    ),
]
Days = Annotated[
    int,
    Field(ge=0, le=TIME_RANGE_DAYS, description="Whole days, at most the timestamp range."),
]
Percent = Annotated[int, Field(ge=0, le=MAX_PERCENT, description="A percentage (100 = unchanged).")]
