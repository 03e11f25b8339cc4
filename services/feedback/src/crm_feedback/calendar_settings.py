"""Business calendars as configuration (JSON in the environment, or a JSON file).

A calendar::

    {"time_zone": "Europe/Berlin",
     "hours": {"monday": ["09:00-12:30", "13:30-18:00"], ..., "friday": ["09:00-16:00"]},
     "holidays": ["2026-12-24"], "yearly_holidays": ["01-01", "12-25"]}

or ``{"always_open": true}`` for 24/7. Weekdays left out are closed; ``24:00`` ends a day;
times may carry seconds (``09:00:30``).
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from crm_feedback.business_time import BusinessCalendar

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_TIME = r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?"
Span = Annotated[str, Field(pattern=rf"^{_TIME}-({_TIME}|24:00)$")]
MonthDay = Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]
CalendarName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")]
SegmentCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,49}$")]
_SPAN = re.compile(r"(\d\d):(\d\d)(?::(\d\d))?-(\d\d):(\d\d)(?::(\d\d))?")


class CalendarConfig(BaseModel):
    """One business calendar: working hours per weekday, time zone, holidays, or 24/7."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: str = Field("UTC", description="IANA time zone of the working hours.")
    hours: dict[Weekday, list[Span]] = Field(
        default_factory=dict, description="Working hours per weekday, e.g. 09:00-17:00."
    )
    holidays: list[date] = Field(default_factory=list, description="Closed on these dates.")
    yearly_holidays: list[MonthDay] = Field(
        default_factory=list, description="Closed every year on these days (MM-DD)."
    )
    always_open: bool = Field(False, description="24/7: every minute is business time.")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @model_validator(mode="after")
    def _valid_calendar(self) -> Self:
        self.build("check")  # raises ValueError for unordered or empty hours
        return self

    def build(self, name: str) -> BusinessCalendar:
        week = tuple(tuple(_seconds(span) for span in self.hours.get(day, [])) for day in WEEKDAYS)
        return BusinessCalendar(
            name=name,
            zone=ZoneInfo(self.time_zone),
            week=week,
            holidays=frozenset(self.holidays),
            yearly_holidays=frozenset(_month_day(md) for md in self.yearly_holidays),
            always_open=self.always_open,
        )


def _seconds(span: str) -> tuple[int, int]:
    match = _SPAN.fullmatch(span)
    assert match is not None  # the field pattern checked it
    h1, m1, s1, h2, m2, s2 = (int(g or 0) for g in match.groups())
    return h1 * 3600 + m1 * 60 + s1, h2 * 3600 + m2 * 60 + s2


def _month_day(value: str) -> tuple[int, int]:
    month, day = value.split("-")
    return int(month), int(day)


_OFFICE_HOURS = ["09:00-17:00"]
DEFAULT_CALENDARS: dict[str, CalendarConfig] = {
    "office-hours": CalendarConfig(
        hours={day: _OFFICE_HOURS for day in WEEKDAYS[:5]},
        yearly_holidays=["01-01", "12-25", "12-26"],
    ),
    "24x7": CalendarConfig(always_open=True),
}
DEFAULT_CALENDAR_BY_SEVERITY = {
    "critical": "24x7",
    "high": "office-hours",
    "medium": "office-hours",
    "low": "office-hours",
}


class CalendarFile(BaseModel):
    """The content of ``CRM_FEEDBACK_SLA_CALENDARS_FILE``: the same three settings."""

    model_config = ConfigDict(extra="forbid")

    calendars: dict[CalendarName, CalendarConfig] = Field(default_factory=dict)
    calendar_by_severity: dict[str, CalendarName] = Field(default_factory=dict)
    calendar_by_segment: dict[SegmentCode, dict[str, CalendarName]] = Field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> CalendarFile:
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read calendar file {path}: {error}") from error
        return cls.model_validate(raw)
