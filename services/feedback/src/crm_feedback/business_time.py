"""Business calendars: when the service desk works, and arithmetic in business time.

An SLA target of "4 hours" means four *working* hours of the calendar chosen for the
complaint: a complaint raised on Friday at 17:55 with a Monday holiday is answered on
Tuesday, not over the weekend. Working hours are wall-clock times in the calendar's time
zone, so they follow daylight-saving changes; holidays are dated or recur every year. A
calendar may also be open around the clock (24/7, e.g. for critical complaints).

Pure functions over aware datetimes (any offset in, UTC out). Open intervals are half-open
``[opens, closes)``: a deadline may fall on a closing moment (the last instant of work), never
inside closed hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SECONDS_PER_DAY = 24 * 3600
# A deadline further away than this is a configuration error (a calendar that never opens).
SEARCH_DAYS = 3 * 366
Interval = tuple[datetime, datetime]
DayHours = tuple[tuple[int, int], ...]  # (opens, closes) in seconds after local midnight


class CalendarNeverOpens(ValueError):
    """The calendar has no working time within ``SEARCH_DAYS`` of a moment."""


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours per weekday (index 0 = Monday), a time zone and holidays."""

    name: str
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    week: tuple[DayHours, ...] = ((),) * 7
    holidays: frozenset[date] = frozenset()
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day)
    always_open: bool = False

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("a week has seven days of working hours")
        for day in self.week:
            previous_close = 0
            for opens, closes in day:
                if not previous_close <= opens < closes <= SECONDS_PER_DAY:
                    raise ValueError(
                        f"working hours {opens}-{closes} are not ordered, separate and "
                        "within one day"
                    )
                previous_close = closes
        if not self.always_open and not any(self.week):
            raise ValueError(f"calendar {self.name} has no working hours")

    # --- queries -------------------------------------------------------------------------
    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (day.month, day.day) in self.yearly_holidays

    def is_open(self, moment: datetime) -> bool:
        if self.always_open:
            return True
        return any(a <= moment < b for a, b in self._day(self._local_date(moment)))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of business time after ``start`` (a deadline)."""
        start = start.astimezone(UTC)
        if self.always_open:
            return start + duration
        remaining = duration
        if remaining <= timedelta(0):
            return start  # nothing to count: the deadline is the start, open or not
        for opens, closes in self._open_from(start):
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
        raise CalendarNeverOpens(f"calendar {self.name} has no working time ahead")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time elapsed from ``start`` to ``end`` (zero when ``end`` is not later)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total = timedelta(0)
        days = (end - start).days + 3  # every day the span touches, whatever its length
        for opens, closes in self._open_from(start, days):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return total

    # --- intervals -----------------------------------------------------------------------
    def _open_from(self, start: datetime, days: int = SEARCH_DAYS) -> Iterator[Interval]:
        """Open intervals (UTC) from ``start`` on, the first one clipped to start there."""
        first = self._local_date(start) - timedelta(days=1)  # an interval may span midnight UTC
        for offset in range(days):
            for opens, closes in self._day(first + timedelta(days=offset)):
                if closes > start:
                    yield max(opens, start), closes

    def _day(self, day: date) -> list[Interval]:
        if self.is_holiday(day):
            return []
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        intervals = []
        for opens, closes in self.week[day.weekday()]:
            a = _wall(midnight, opens)
            b = _wall(midnight, closes)
            if b > a:  # hours swallowed by a daylight-saving gap are simply not worked
                intervals.append((a, b))
        return intervals

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def _wall(midnight: datetime, seconds: int) -> datetime:
    """The UTC instant of a wall-clock time ``seconds`` after local midnight (aware
    arithmetic on one tzinfo is wall-clock arithmetic; the offset is applied afterwards)."""
    if seconds == SECONDS_PER_DAY:
        following = midnight.date() + timedelta(days=1)
        wall = datetime(following.year, following.month, following.day, tzinfo=midnight.tzinfo)
        return wall.astimezone(UTC)
    return (midnight + timedelta(seconds=seconds)).astimezone(UTC)


ALWAYS_OPEN = BusinessCalendar(name="24x7", always_open=True)
