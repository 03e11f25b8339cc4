"""HTTP request and response models of the feedback API (requests reject unknown fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_events.common import (
    Channel,
    CustomerId,
    EmployeeId,
    EntityId,
    FreeText,
    Severity,
    ShortText,
    Timestamp,
)
from crm_events.feedback import CategoryCode, FeedbackKind, ProductArea, SegmentCode, Sentiment
from crm_feedback.answers import Survey
from crm_feedback.domain import Complaint, SlaClock
from crm_feedback.suggestions import FeedbackItem
from crm_feedback.survey_plan import SurveyPlan

Text = Annotated[FreeText, Field(min_length=1)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RaiseComplaint(_Request):
    complaint_id: EntityId | None = Field(None, description="Omit to have one generated.")
    customer_id: CustomerId
    severity: Severity = Field(description="Selects the SLA targets.")
    category: CategoryCode
    channel: Channel
    description: Text
    owner_id: EmployeeId
    raised_at: Timestamp | None = Field(
        None, description="When the customer complained (default: now); the clocks start then."
    )
    segment: SegmentCode | None = Field(
        None, description="Customer segment; may select another business calendar."
    )


class AcknowledgeComplaint(_Request):
    acknowledged_by: EmployeeId


class ResolveComplaint(_Request):
    resolved_by: EmployeeId
    resolution: Text = Field(description="What was done for the customer.")


class PauseComplaint(_Request):
    paused_by: EmployeeId
    reason: ShortText = Field(min_length=1, description="What the company waits for.")


class ResumeComplaint(_Request):
    resumed_by: EmployeeId


class ReopenComplaint(_Request):
    reason: ShortText = Field(min_length=1, description="Why the customer disputes it.")
    reopened_by: EmployeeId | None = Field(
        None, description="Employee recording the customer's dispute."
    )


class RecordSurvey(_Request):
    survey_id: EntityId | None = Field(None, description="Omit to have one generated.")
    customer_id: CustomerId
    trigger: Literal["complaint_resolved", "periodic", "other"] = "other"
    csat: int | None = Field(None, ge=1, le=5, description="Customer satisfaction, 1 (bad)-5.")
    nps: int | None = Field(None, ge=0, le=10, description="Likelihood to recommend, 0-10.")
    comment: FreeText | None = None
    complaint_id: EntityId | None = Field(None, description="The complaint it is about, if any.")
    answered_at: Timestamp | None = Field(None, description="Default: now.")

    @model_validator(mode="after")
    def _has_a_score(self) -> Self:
        if self.csat is None and self.nps is None:
            raise ValueError("a survey answer needs csat, nps or both")
        return self


class SubmitFeedback(_Request):
    feedback_id: EntityId | None = Field(None, description="Omit to have one generated.")
    customer_id: CustomerId
    kind: FeedbackKind
    text: Text = Field(description="The feedback in the customer's words.")
    channel: Channel
    product_area: ProductArea | None = None
    sentiment: Sentiment | None = None
    submitted_at: Timestamp | None = Field(None, description="Default: now.")


class ChangeFeedbackStatus(_Request):
    status: Literal["reviewed", "planned", "done", "declined"]
    response: Text = Field(description="The answer to the customer for this step.")
    changed_by: EmployeeId


class ResponseView(BaseModel):
    status: str
    response: str
    by: str
    at: datetime


class FeedbackView(BaseModel):
    feedback_id: str
    customer_id: str
    kind: str
    text: str
    channel: str
    product_area: str | None
    sentiment: str | None
    submitted_at: datetime
    status: Literal["new", "reviewed", "planned", "done", "declined"]
    responses: dict[str, ResponseView] = Field(description="The answer given at each step.")
    updated_at: datetime | None
    version: int


class FeedbackList(BaseModel):
    items: list[FeedbackView]


class SurveyRequestView(BaseModel):
    survey_id: str
    kind: Literal["csat", "nps"]
    trigger: str
    channel: str
    status: Literal["scheduled", "sent", "answered", "expired", "cancelled"]
    send_at: datetime
    sent_at: datetime | None
    due_at: datetime | None
    finished_at: datetime | None
    complaint_id: str | None


class SurveyPlanView(BaseModel):
    customer_id: str
    next_nps_at: datetime | None = Field(description="Next periodic NPS request (none after exit).")
    last_nps_at: datetime | None
    exited_at: datetime | None
    requests: list[SurveyRequestView] = Field(description="Newest first.")
    counts: dict[str, dict[str, int]] = Field(description="Requests per kind and status.")
    response_rate: dict[str, float | None] = Field(
        description="Per kind: answered / (answered + expired); null before any finished."
    )


class ClockView(BaseModel):
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    warned: bool
    breached: bool
    stopped: bool
    stopped_at: datetime | None
    met: bool | None = Field(description="Stopped before its deadline; null while running.")


class ComplaintView(BaseModel):
    complaint_id: str
    customer_id: str
    severity: str
    category: str
    channel: str
    description: str
    owner_id: str
    status: Literal["open", "resolved"]
    raised_at: datetime
    escalation_level: int
    clocks: dict[str, ClockView]
    next_due_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    within_sla: bool | None
    first_response_within_sla: bool | None
    calendar: str = Field(description="Business calendar the clocks count in.")
    segment: str | None
    paused: bool
    paused_at: datetime | None
    pause_reason: str | None
    pause_count: int
    paused_seconds: int = Field(description="Business seconds paused over all pauses.")
    reopen_count: int
    reopened_at: datetime | None
    desk_state: Literal["open", "paused", "overdue", "resolved"] = Field(
        description="open: a deadline ahead; overdue: every deadline missed."
    )
    breach_due_at: datetime | None = Field(description="The next deadline that can be missed.")
    business_seconds_left: dict[str, int] = Field(
        description="Per running clock, business time left (negative: overdue; frozen while "
        "paused)."
    )
    last_customer_reply_at: datetime | None = Field(
        description="When the customer last replied about it (crm.inbound.customer-replied)."
    )
    named_owner_id: str | None = Field(
        None,
        description="The employee the raise named, when they had left and the departure rule "
        "chose `owner_id` instead.",
    )
    version: int


class ComplaintList(BaseModel):
    items: list[ComplaintView]


class SurveyView(BaseModel):
    survey_id: str
    customer_id: str
    trigger: str
    csat: int | None
    nps: int | None
    comment: str | None
    complaint_id: str | None
    answered_at: datetime
    recorded_at: datetime


class SurveyList(BaseModel):
    items: list[SurveyView]


def complaint_view(complaint: Complaint, left: dict[str, int]) -> ComplaintView:
    """``left``: business seconds left per running clock (``ComplaintService``)."""
    clocks = {name: _clock_view(clock) for name, clock in complaint.clocks.items()}
    fields = [name for name in ComplaintView.model_fields if name != "business_seconds_left"]
    return ComplaintView.model_validate(
        {
            **{name: getattr(complaint, name) for name in fields},
            "clocks": clocks,
            "business_seconds_left": left,
        }
    )


def _clock_view(clock: SlaClock) -> ClockView:
    return ClockView.model_validate(clock, from_attributes=True)


def survey_view(survey: Survey) -> SurveyView:
    return SurveyView.model_validate(survey, from_attributes=True)


def feedback_view(item: FeedbackItem) -> FeedbackView:
    return FeedbackView.model_validate(item, from_attributes=True)


def survey_plan_view(plan: SurveyPlan) -> SurveyPlanView:
    counts = plan.counts()
    requests = sorted(plan.requests.values(), key=lambda r: r.send_at, reverse=True)
    return SurveyPlanView(
        customer_id=plan.customer_id,
        next_nps_at=plan.next_nps_at if plan.exited_at is None else None,
        last_nps_at=plan.last_nps_at,
        exited_at=plan.exited_at,
        requests=[SurveyRequestView.model_validate(r, from_attributes=True) for r in requests],
        counts=counts,
        response_rate={kind: _rate(per_status) for kind, per_status in counts.items()},
    )


def _rate(per_status: dict[str, int]) -> float | None:
    finished = per_status.get("answered", 0) + per_status.get("expired", 0)
    return None if finished == 0 else per_status.get("answered", 0) / finished
