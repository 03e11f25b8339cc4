"""Feedback settings: every variable is prefixed CRM_FEEDBACK_ (e.g. CRM_FEEDBACK_MONGO_URI).

The SLA policy and the escalation chain are JSON in the environment, e.g.
``CRM_FEEDBACK_SLA_POLICY='{"critical": {"first_response_minutes": 30,
"resolution_minutes": 240}}'`` (severities left out keep their defaults) and
``CRM_FEEDBACK_ESCALATION_CHAIN='["team-lead", "service-manager", "director"]'``.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from crm_events.common import EmployeeId, Severity
from crm_runtime.settings import ServiceSettings


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

    @field_validator("sla_policy", mode="after")
    @classmethod
    def _complete_policy(cls, value: dict[Severity, Any]) -> dict[Severity, SlaTargets]:
        return {**DEFAULT_SLA_POLICY, **value}
