"""Feedback settings: every variable is prefixed CRM_FEEDBACK_ (e.g. CRM_FEEDBACK_MONGO_URI).

The SLA policy and the escalation chain are JSON in the environment, e.g.
``CRM_FEEDBACK_SLA_POLICY='{"critical": {"first_response_minutes": 30,
"resolution_minutes": 240}}'`` (severities left out keep their defaults) and
``CRM_FEEDBACK_ESCALATION_CHAIN='["team-lead", "service-manager", "director"]'``.

SLA targets count business time of a calendar (``CRM_FEEDBACK_SLA_CALENDARS``,
``..._SLA_CALENDAR_BY_SEVERITY``, ``..._SLA_CALENDAR_BY_SEGMENT`` or a JSON file named by
``..._SLA_CALENDARS_FILE``; shapes in ``calendar_settings``). Survey requests: CSAT
``..._CSAT_DELAY_MINUTES`` after a resolution, NPS every ``..._NPS_CADENCE_DAYS``. The
service README lists every variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from crm_events.common import Channel, EmployeeId, Severity
from crm_feedback.calendar_settings import (
    DEFAULT_CALENDAR_BY_SEVERITY,
    DEFAULT_CALENDARS,
    CalendarConfig,
    CalendarFile,
    CalendarName,
    SegmentCode,
)
from crm_runtime.settings import ServiceSettings

Chain = Annotated[list[EmployeeId], Field(min_length=1)]


class EscalationChains(BaseModel):
    """Who takes a complaint over after the 1st, 2nd, … breach of each clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_response: Chain | None = Field(
        None, description="Default: ESCALATION_CHAIN by the complaint's escalation level."
    )
    resolution: Chain | None = Field(
        None, description="Default: ESCALATION_CHAIN by the complaint's escalation level."
    )


class SlaTargets(BaseModel):
    """How long the company may take to respond to and to resolve a complaint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_response_minutes: int = Field(gt=0, description="First-response target.")
    resolution_minutes: int = Field(gt=0, description="Resolution target (from the raise).")

    @model_validator(mode="after")
    def _response_before_resolution(self) -> Self:
        if self.first_response_minutes > self.resolution_minutes:
            raise ValueError("first_response_minutes must not exceed resolution_minutes")
        return self


DEFAULT_SLA_POLICY: dict[Severity, SlaTargets] = {
    Severity.CRITICAL: SlaTargets(first_response_minutes=60, resolution_minutes=8 * 60),
    Severity.HIGH: SlaTargets(first_response_minutes=4 * 60, resolution_minutes=24 * 60),
    Severity.MEDIUM: SlaTargets(first_response_minutes=8 * 60, resolution_minutes=72 * 60),
    Severity.LOW: SlaTargets(first_response_minutes=24 * 60, resolution_minutes=120 * 60),
}
DEFAULT_ESCALATION_CHAIN = ["team-lead", "service-manager", "director"]


class FeedbackSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_FEEDBACK_", extra="ignore")

    service_name: str = "feedback"
    mongo_database: str = "crm_feedback"
    http_port: int = 8002

    sla_policy: dict[Severity, SlaTargets] = Field(
        default_factory=lambda: dict(DEFAULT_SLA_POLICY),
        description="SLA targets per severity; severities left out keep their defaults.",
    )
    sla_warning_fraction: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="Share of each SLA clock after which ComplaintSlaWarning is published.",
    )
    escalation_chain: Annotated[list[EmployeeId], Field(min_length=1)] = Field(
        default_factory=lambda: list(DEFAULT_ESCALATION_CHAIN),
        description="Who owns a complaint after escalation level 1, 2, …; the last one "
        "keeps it at any higher level.",
    )

    escalation_chains: dict[Severity, EscalationChains] = Field(
        default_factory=dict,
        description="Chains per severity and clock; what is left out uses ESCALATION_CHAIN.",
    )
    sla_calendars: dict[CalendarName, CalendarConfig] = Field(
        default_factory=lambda: dict(DEFAULT_CALENDARS),
        description="Business calendars by name (added to the defaults office-hours, 24x7).",
    )
    sla_calendar_by_severity: dict[Severity, CalendarName] = Field(
        default_factory=dict,
        description="Calendar of each severity (default: critical 24x7, others office-hours).",
    )
    sla_calendar_by_segment: dict[SegmentCode, dict[Severity, CalendarName]] = Field(
        default_factory=dict,
        description="Per customer segment, calendars that replace the severity's.",
    )
    sla_calendars_file: Path | None = Field(
        None,
        description="JSON file with calendars, calendar_by_severity and calendar_by_segment; "
        "its entries win over the environment's.",
    )
    reopen_window_days: int = Field(
        14, ge=0, le=3650, description="How long after resolution a dispute reopens it."
    )

    csat_delay_minutes: int = Field(
        60, ge=0, le=30 * 24 * 60, description="Wait after a resolution before the CSAT request."
    )
    survey_answer_window_days: int = Field(
        14, ge=1, le=365, description="A survey request unanswered this long expires."
    )
    nps_cadence_days: int = Field(
        180, ge=1, le=3650, description="Periodic NPS request every this many days."
    )
    nps_min_interval_days: int = Field(
        90, ge=0, le=3650, description="Never an NPS request sooner after the last NPS."
    )
    survey_channel: Channel = Field(
        Channel.EMAIL, description="Channel survey requests are sent through."
    )
    default_owner_pool: Annotated[list[EmployeeId], Field(min_length=1)] = Field(
        default_factory=lambda: ["account-pool"],
        description="Owners of a departed employee's complaints when neither the account's "
        "owner nor a successor is left (spread by customer id).",
    )
    departure_recheck_s: int = Field(
        600, ge=1, le=86400, description="The departure hand-over runs once more this later."
    )

    @field_validator("sla_policy", mode="after")
    @classmethod
    def _complete_policy(cls, value: dict[Severity, Any]) -> dict[Severity, SlaTargets]:
        return {**DEFAULT_SLA_POLICY, **value}

    @field_validator("sla_calendars", mode="after")
    @classmethod
    def _complete_calendars(cls, value: dict[str, CalendarConfig]) -> dict[str, CalendarConfig]:
        return {**DEFAULT_CALENDARS, **value}

    @model_validator(mode="after")
    def _nps_cadence_respects_the_interval(self) -> Self:
        if self.nps_cadence_days < self.nps_min_interval_days:
            raise ValueError("nps_cadence_days must not be shorter than nps_min_interval_days")
        return self

    @model_validator(mode="after")
    def _calendars_resolve(self) -> Self:
        if self.sla_calendars_file is not None:
            loaded = CalendarFile.load(self.sla_calendars_file)
            self.sla_calendars = {**self.sla_calendars, **loaded.calendars}
            self.sla_calendar_by_severity = {
                **self.sla_calendar_by_severity,
                **{Severity(k): v for k, v in loaded.calendar_by_severity.items()},
            }
            self.sla_calendar_by_segment = {
                **self.sla_calendar_by_segment,
                **{
                    segment: {Severity(k): v for k, v in names.items()}
                    for segment, names in loaded.calendar_by_segment.items()
                },
            }
        defaults = {Severity(k): v for k, v in DEFAULT_CALENDAR_BY_SEVERITY.items()}
        self.sla_calendar_by_severity = {**defaults, **self.sla_calendar_by_severity}
        named = [*self.sla_calendar_by_severity.values()]
        named += [n for names in self.sla_calendar_by_segment.values() for n in names.values()]
        unknown = sorted(set(named) - set(self.sla_calendars))
        if unknown:
            raise ValueError(f"unknown business calendars {unknown}")
        return self
