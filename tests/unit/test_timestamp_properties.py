"""Any timestamp the contracts accept is stored and read back unchanged; nothing else is.

Finding: ``0587-04-10T19:42:06Z`` was accepted, stored unpadded as ``587-04-10T…`` and
every later read of the record failed. Now the edge refuses it and the codec pads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from crm_events.bounds import TIME_MAX, TIME_MIN, Timestamp
from crm_runtime.timestamps import STAMP_LENGTH, stamp, unstamp

pytestmark = pytest.mark.unit
PROPERTY = settings(max_examples=200, deadline=None, database=None)
ONE_MICROSECOND = timedelta(microseconds=1)

# RFC 3339 offsets are whole minutes, less than a day.
offsets = st.integers(min_value=-1439, max_value=1439).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


class Stamped(BaseModel):
    at: Timestamp


def aware(lo: datetime, hi: datetime) -> st.SearchStrategy[datetime]:
    """Instants between ``lo`` and ``hi`` (UTC), shown in any UTC offset."""
    naive = st.datetimes(min_value=lo.replace(tzinfo=None), max_value=hi.replace(tzinfo=None))
    return st.builds(lambda moment, tz: moment.replace(tzinfo=UTC).astimezone(tz), naive, offsets)


@PROPERTY
@given(aware(TIME_MIN, TIME_MAX))
def test_every_accepted_timestamp_round_trips_through_storage(moment: datetime) -> None:
    accepted = Stamped.model_validate({"at": moment.isoformat()}).at

    stored = stamp(accepted)

    assert accepted == moment
    assert accepted.tzinfo is UTC
    assert len(stored) == STAMP_LENGTH
    assert unstamp(stored) == accepted
    assert Stamped.model_validate_json(Stamped(at=accepted).model_dump_json()).at == accepted


@PROPERTY
@given(aware(TIME_MIN, TIME_MAX), aware(TIME_MIN, TIME_MAX))
def test_stored_timestamps_sort_like_the_instants(first: datetime, second: datetime) -> None:
    assert (stamp(first) < stamp(second)) == (first < second)


@PROPERTY
@given(
    st.one_of(
        aware(datetime(2, 1, 1, tzinfo=UTC), TIME_MIN - ONE_MICROSECOND),
        aware(TIME_MAX + ONE_MICROSECOND, datetime(9998, 12, 31, tzinfo=UTC)),
    )
)
def test_timestamps_outside_the_range_are_refused(moment: datetime) -> None:
    with pytest.raises(ValidationError, match="timestamp must lie between"):
        Stamped.model_validate({"at": moment.isoformat()})


@PROPERTY
@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)))
def test_the_codec_itself_pads_every_year(moment: datetime) -> None:
    utc = moment.replace(tzinfo=UTC)
    assert unstamp(stamp(utc)) == utc
    assert len(stamp(utc)) == STAMP_LENGTH


@PROPERTY
@given(st.text(max_size=40))
def test_reading_is_strict(text: str) -> None:
    try:
        moment = unstamp(text)
    except ValueError:
        return
    assert stamp(moment) == text  # only the canonical form is ever read


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("1900-01-01T00:00:00Z", True),
        ("2200-01-01T00:00:00Z", True),
        ("1900-01-01T01:00:00+01:00", True),
        ("1899-12-31T23:59:59.999999Z", False),
        ("2200-01-01T00:00:00.000001Z", False),
        ("1900-01-01T00:00:00+00:01", False),
        ("0587-04-10T19:42:06Z", False),
        ("0001-01-01T00:00:00+01:00", False),
        ("9999-12-31T23:59:59-01:00", False),
        ("2026-03-01T09:00:00", False),
    ],
)
def test_the_edges_of_the_range(text: str, accepted: bool) -> None:
    if accepted:
        assert unstamp(stamp(Stamped.model_validate({"at": text}).at)).isoformat()
    else:
        with pytest.raises(ValidationError):
            Stamped.model_validate({"at": text})


def test_the_year_587_is_padded_when_stored() -> None:
    assert stamp(datetime(587, 4, 10, 19, 42, 6, tzinfo=UTC)) == "0587-04-10T19:42:06.000000Z"
    with pytest.raises(ValueError, match="not a stored timestamp"):
        unstamp("587-04-10T19:42:06.000000Z")
