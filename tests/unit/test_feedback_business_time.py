"""Business calendars: deadlines counted in working time, across nights, weekends, holidays
and daylight-saving changes; properties that hold for any start and any duration."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crm_events.common import Channel, Severity
from crm_events.feedback import ComplaintRaised
from crm_feedback import desk, domain
from crm_feedback.app import sla_policy
from crm_feedback.business_time import ALWAYS_OPEN, BusinessCalendar, CalendarNeverOpens
from crm_feedback.calendar_settings import CalendarConfig
from crm_feedback.settings import FeedbackSettings

pytestmark = pytest.mark.unit
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")

# Mon-Fri 09:00-12:00 and 13:00-17:00 in Berlin; Christmas every year; Easter Monday 2026.
OFFICE = CalendarConfig(
    time_zone="Europe/Berlin",
    hours={day: ["09:00-12:00", "13:00-17:00"] for day in WEEKDAYS},
    holidays=[date(2026, 4, 6)],
    yearly_holidays=["12-25", "12-26"],
).build("office")
# A night shift that runs to midnight and a Saturday morning.
SHIFTS = CalendarConfig(
    time_zone="America/New_York",
    hours={"monday": ["18:00-24:00"], "tuesday": ["00:00-06:00"], "saturday": ["08:00-12:00"]},
).build("shifts")


def berlin(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


def test_a_deadline_inside_the_day_is_plain_addition() -> None:
    assert OFFICE.add(berlin(2026, 3, 3, 9, 30), 2 * HOUR) == berlin(2026, 3, 3, 11, 30)


def test_the_lunch_break_does_not_count() -> None:
    assert OFFICE.add(berlin(2026, 3, 3, 11, 0), 2 * HOUR) == berlin(2026, 3, 3, 14, 0)


def test_overnight_the_clock_continues_next_morning() -> None:
    assert OFFICE.add(berlin(2026, 3, 3, 16, 0), 2 * HOUR) == berlin(2026, 3, 4, 10, 0)


def test_friday_evening_continues_on_monday() -> None:
    assert OFFICE.add(berlin(2026, 3, 6, 16, 30), HOUR) == berlin(2026, 3, 9, 9, 30)


def test_raised_outside_hours_the_clock_starts_at_the_next_opening() -> None:
    saturday = berlin(2026, 3, 7, 22, 0)
    assert OFFICE.add(saturday, 4 * HOUR) == berlin(2026, 3, 9, 14, 0)
    assert OFFICE.between(saturday, berlin(2026, 3, 9, 9, 0)) == timedelta(0)


def test_dated_and_yearly_holidays_are_closed() -> None:
    before_easter_monday = berlin(2026, 4, 3, 16, 0)  # Good Friday is not configured here
    assert OFFICE.add(before_easter_monday, 2 * HOUR) == berlin(2026, 4, 7, 10, 0)
    christmas_eve = berlin(2027, 12, 24, 16, 0)  # a Friday; 25th/26th fall on the weekend
    assert OFFICE.add(christmas_eve, 2 * HOUR) == berlin(2027, 12, 27, 10, 0)
    assert OFFICE.is_holiday(date(2031, 12, 25))
    assert not OFFICE.is_holiday(date(2031, 12, 24))


def test_friday_1755_with_a_monday_holiday_breaches_on_tuesday() -> None:
    whitsun = CalendarConfig(
        time_zone="Europe/Berlin",
        hours={day: ["09:00-18:00"] for day in WEEKDAYS},
        holidays=[date(2026, 5, 25)],  # Whit Monday
    ).build("whitsun")
    raised = berlin(2026, 5, 22, 17, 55)

    assert whitsun.add(raised, HOUR) == berlin(2026, 5, 26, 9, 55)


def test_working_hours_follow_the_wall_clock_across_daylight_saving() -> None:
    # Berlin springs forward on Sunday 2026-03-29 and falls back on Sunday 2026-10-25.
    friday_before_spring = berlin(2026, 3, 27, 16, 0)
    deadline = OFFICE.add(friday_before_spring, 2 * HOUR)

    assert deadline == berlin(2026, 3, 30, 10, 0)
    assert deadline.astimezone(UTC) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # CEST
    assert friday_before_spring.astimezone(UTC).hour == 15  # CET
    autumn = OFFICE.add(berlin(2026, 10, 23, 16, 0), 2 * HOUR)
    assert autumn.astimezone(UTC) == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_a_night_through_the_dst_change_counts_its_real_length() -> None:
    night = CalendarConfig(
        time_zone="Europe/Berlin", hours={"saturday": ["22:00-24:00"], "sunday": ["00:00-06:00"]}
    ).build("night")
    # 2026-03-29 02:00 does not exist in Berlin: that night has seven working hours, not eight.
    assert night.between(berlin(2026, 3, 28, 21, 0), berlin(2026, 3, 29, 7, 0)) == 7 * HOUR
    # 2026-10-25 02:00-03:00 happens twice: nine hours.
    assert night.between(berlin(2026, 10, 24, 21, 0), berlin(2026, 10, 25, 7, 0)) == 9 * HOUR


def test_hours_to_midnight_join_the_next_day_and_other_zones_work() -> None:
    new_york = ZoneInfo("America/New_York")
    monday_evening = datetime(2026, 3, 2, 23, 0, tzinfo=new_york)

    assert SHIFTS.add(monday_evening, 3 * HOUR) == datetime(2026, 3, 3, 2, 0, tzinfo=new_york)
    assert SHIFTS.add(monday_evening, 8 * HOUR) == datetime(2026, 3, 7, 9, 0, tzinfo=new_york)


def test_round_the_clock_is_wall_clock_time() -> None:
    start = datetime(2026, 3, 6, 17, 55, tzinfo=UTC)
    assert ALWAYS_OPEN.add(start, 72 * HOUR) == start + 72 * HOUR
    assert ALWAYS_OPEN.between(start, start + 5 * HOUR) == 5 * HOUR
    assert ALWAYS_OPEN.is_open(start)


def test_zero_duration_is_the_start_itself() -> None:
    closing = berlin(2026, 3, 6, 17, 0)
    assert OFFICE.add(closing, timedelta(0)) == closing


def test_a_deadline_may_be_the_closing_moment_but_not_after_it() -> None:
    deadline = OFFICE.add(berlin(2026, 3, 3, 16, 0), HOUR)
    assert deadline == berlin(2026, 3, 3, 17, 0)
    assert not OFFICE.is_open(deadline)
    assert OFFICE.is_open(deadline - MINUTE)


def test_between_is_zero_backwards_and_counts_only_open_time() -> None:
    monday, friday = berlin(2026, 3, 2, 9, 0), berlin(2026, 3, 6, 17, 0)
    assert OFFICE.between(monday, friday) == 5 * 7 * HOUR
    assert OFFICE.between(friday, monday) == timedelta(0)


def test_nonsense_calendars_are_refused() -> None:
    with pytest.raises(ValueError, match="no working hours"):
        BusinessCalendar(name="never")
    with pytest.raises(ValidationError, match="not ordered"):
        CalendarConfig(hours={"monday": ["13:00-17:00", "09:00-14:00"]})
    with pytest.raises(ValidationError, match="String should match pattern"):
        CalendarConfig(hours={"monday": ["9-17"]})
    with pytest.raises(ValidationError, match="unknown time zone"):
        CalendarConfig(time_zone="Mars/Olympus", always_open=True)


def test_a_calendar_closed_for_years_is_a_configuration_error() -> None:
    closed = BusinessCalendar(
        name="closed",
        week=(((9 * 3600, 17 * 3600),),) + ((),) * 6,
        holidays=frozenset(date(2026, 1, 5) + timedelta(weeks=n) for n in range(200)),
    )
    with pytest.raises(CalendarNeverOpens):
        closed.add(datetime(2026, 1, 1, tzinfo=UTC), HOUR)


def test_calendars_per_severity_and_segment_from_settings() -> None:
    settings = FeedbackSettings(
        sla_calendars={
            "berlin": CalendarConfig(time_zone="Europe/Berlin", hours={"monday": ["08:00-20:00"]})
        },
        sla_calendar_by_segment={"enterprise": {"high": "24x7"}},
        sla_calendar_by_severity={"low": "berlin"},
    )
    policy = sla_policy(settings)

    assert policy.calendar_for("critical").always_open
    assert policy.calendar_for("high").name == "office-hours"
    assert policy.calendar_for("high", "enterprise").always_open
    assert policy.calendar_for("high", "consumer").name == "office-hours"
    assert policy.calendar_for("low", "enterprise").name == "berlin"
    with pytest.raises(ValidationError, match="unknown business calendars"):
        FeedbackSettings(sla_calendar_by_severity={"low": "nowhere"})


def test_calendars_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "calendars.json"
    path.write_text(
        json.dumps(
            {
                "calendars": {
                    "vienna": {
                        "time_zone": "Europe/Vienna",
                        "hours": {"monday": ["07:00-15:00"]},
                        "yearly_holidays": ["12-08"],
                    }
                },
                "calendar_by_severity": {"medium": "vienna"},
                "calendar_by_segment": {"smb": {"critical": "office-hours"}},
            }
        )
    )
    policy = sla_policy(FeedbackSettings(sla_calendars_file=path))

    assert policy.calendar_for("medium").name == "vienna"
    assert policy.calendar_for("critical", "smb").name == "office-hours"
    assert policy.calendar_for("medium").is_holiday(date(2030, 12, 8))
    with pytest.raises(ValidationError, match="cannot read calendar file"):
        FeedbackSettings(sla_calendars_file=tmp_path / "missing.json")


# --- properties ------------------------------------------------------------------------------
FILED = ComplaintRaised(
    complaint_id="cmp-p",
    customer_id="cus-p",
    severity=Severity.HIGH,
    category="billing",
    channel=Channel.EMAIL,
    description="charged twice",
    owner_id="emp-1",
    first_response_due_at=datetime(2026, 1, 1, tzinfo=UTC),
    resolution_due_at=datetime(2026, 1, 1, tzinfo=UTC),
)
starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.integers(min_value=1, max_value=200 * 60).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from([OFFICE, SHIFTS])


@settings(max_examples=300, deadline=None)
@given(start=starts, duration=durations, calendar=calendars)
def test_a_deadline_is_never_inside_closed_hours(
    start: datetime, duration: timedelta, calendar: BusinessCalendar
) -> None:
    deadline = calendar.add(start, duration)
    # The instant just before the deadline was working time (the deadline may be a closing).
    assert calendar.is_open(deadline - timedelta(microseconds=1))
    assert calendar.between(start, deadline) == duration


@settings(max_examples=300, deadline=None)
@given(start=starts, duration=durations, paused=durations, calendar=calendars)
def test_pausing_for_d_business_minutes_moves_the_deadline_by_exactly_d(
    start: datetime, duration: timedelta, paused: timedelta, calendar: BusinessCalendar
) -> None:
    deadline = calendar.add(start, duration)
    moved = calendar.add(deadline, paused)

    assert calendar.between(deadline, moved) == paused
    assert calendar.between(start, moved) == duration + paused


@settings(max_examples=200, deadline=None)
@given(start=starts, first=durations, second=durations, calendar=calendars)
def test_adding_in_two_steps_equals_adding_once(
    start: datetime, first: timedelta, second: timedelta, calendar: BusinessCalendar
) -> None:
    assert calendar.add(calendar.add(start, first), second) == calendar.add(start, first + second)


def test_working_hours_may_carry_seconds() -> None:
    calendar = CalendarConfig(hours={"monday": ["09:00:30-09:01:00"]}).build("seconds")
    monday = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    assert calendar.between(monday, monday + HOUR) == timedelta(seconds=30)
    assert calendar.add(monday, timedelta(seconds=10)) == monday + timedelta(seconds=40)


def test_between_counts_spans_longer_than_the_search_horizon() -> None:
    start = berlin(2026, 1, 5, 9, 0)  # a Monday
    five_years = OFFICE.between(start, start + timedelta(weeks=5 * 52))
    # Weekday holidays up to 2030-12-30: Easter Monday 2026; 25/26 Dec on a weekday in
    # 2026 (1), 2027 (0), 2028 (2), 2029 (2), 2030 (2).
    holidays = 1 + 1 + 0 + 2 + 2 + 2
    assert five_years == (5 * 52 * 5 - holidays) * 7 * HOUR


@settings(max_examples=150, deadline=None)
@given(
    raised=starts,
    pause_after=durations,
    pause_length=st.integers(min_value=1, max_value=10 * 24 * 60).map(
        lambda m: timedelta(minutes=m)
    ),
)
def test_a_complaint_paused_for_d_business_time_has_every_running_deadline_moved_by_d(
    raised: datetime, pause_after: timedelta, pause_length: timedelta
) -> None:
    opened = domain.open_complaint(
        FILED.model_copy(
            update={
                "first_response_due_at": OFFICE.add(raised, 4 * HOUR),
                "resolution_due_at": OFFICE.add(raised, 24 * HOUR),
            }
        ),
        raised_at=raised,
        event_id="e",
        correlation_id="c",
        warning_fraction=0.8,
        calendar=OFFICE,
    )
    paused_at = domain.to_millis(raised + pause_after)
    resumed_at = domain.to_millis(paused_at + pause_length)
    paused, _ = desk.pause(opened, reason="photos", by="emp-1", at=paused_at)
    resumed, fact = desk.resume(paused, at=resumed_at, calendar=OFFICE)

    d = OFFICE.between(paused_at, resumed_at)
    assert resumed.paused_seconds == fact.paused_seconds == int(d.total_seconds())
    assert fact.resolution_due_at == resumed.clocks["resolution"].due_at
    for name, clock in opened.clocks.items():
        moved = resumed.clocks[name].due_at
        assert OFFICE.between(clock.due_at, moved) == d
        assert moved == clock.due_at or OFFICE.is_open(moved - timedelta(microseconds=1))
