"""Facts published by the feedback context: complaints and their SLA clocks, feedback, surveys."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from crm_events.base import EventData
from crm_events.common import (
    Channel,
    Count,
    CustomerId,
    EmployeeId,
    EntityId,
    FreeText,
    Seconds,
    Severity,
    ShortText,
    Timestamp,
)

SlaClock = Literal["first_response", "resolution"]
CategoryCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Complaint category code, e.g. billing, delivery, product_quality, service.",
    ),
]


SegmentCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="Customer segment code, e.g. enterprise, smb, consumer.",
    ),
]
ReopenCount = Annotated[Count, Field(ge=1)]
_REOPEN_COUNT = "Absent for the complaint's first resolution cycle; n after its n-th reopen."


FeedbackKind = Literal["praise", "suggestion", "problem", "other"]
Sentiment = Literal["positive", "neutral", "negative"]
ProductArea = Annotated[
    str,
    Field(
        min_length=1,
        max_length=50,
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="Product area code, e.g. billing, mobile_app, delivery.",
    ),
]


class _Feedback(EventData):
    context = "feedback"


class ComplaintRaised(_Feedback):
    """A customer complained; both SLA clocks start now and their deadlines are fixed here."""

    business_key = ("complaint_id",)

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    severity: Severity = Field(description="Severity; selects the SLA targets.")
    category: CategoryCode
    channel: Channel = Field(description="Channel through which the complaint arrived.")
    description: FreeText = Field(description="The customer's complaint in their words.")
    owner_id: EmployeeId = Field(description="Employee accountable for resolving it.")
    first_response_due_at: Timestamp = Field(description="Deadline for the first response.")
    resolution_due_at: Timestamp = Field(description="Deadline for the resolution.")
    raised_at: Timestamp | None = Field(
        None, description="When the complaint was received (defaults to the envelope time)."
    )
    segment: SegmentCode | None = Field(
        None, description="Customer segment; may select another business calendar."
    )


class ComplaintAcknowledged(_Feedback):
    """The company responded to the complaint for the first time; the first-response clock stops."""

    business_key = ("complaint_id",)

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    acknowledged_by: EmployeeId = Field(description="Employee who responded.")
    acknowledged_at: Timestamp = Field(description="When the first response was given.")


class ComplaintEscalated(_Feedback):
    """The complaint moved one level up the escalation ladder and has a new owner."""

    business_key = ("complaint_id", "level")

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    level: Annotated[Count, Field(ge=1)] = Field(
        description="Escalation level reached (1 = first escalation)."
    )
    escalated_to: EmployeeId = Field(description="Employee who owns the complaint from now on.")
    reason: ShortText = Field(description="Why it was escalated, e.g. resolution SLA breached.")
    previous_owner_id: EmployeeId | None = Field(None, description="Owner before escalation.")


class ComplaintSlaWarning(_Feedback):
    """An SLA clock is close to its deadline (a warning, issued once per clock)."""

    # A reopened complaint's fresh resolution clock may warn again (trailing key part absent
    # for the first cycle, so earlier warnings keep their key).
    business_key = ("complaint_id", "clock", "reopen_count")
    # Depends on when the warning was computed, not on which warning it is.
    volatile_fields = ("remaining_seconds",)

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    clock: SlaClock = Field(description="Which SLA clock is about to run out.")
    due_at: Timestamp = Field(description="Deadline of that clock.")
    remaining_seconds: Seconds = Field(
        description="Seconds left when the warning was issued (business time of the "
        "complaint's calendar)."
    )
    owner_id: EmployeeId | None = Field(None, description="Current owner, to be notified.")
    reopen_count: ReopenCount | None = Field(None, description=_REOPEN_COUNT)


class ComplaintSlaBreached(_Feedback):
    """An SLA clock passed its deadline without the required response or resolution."""

    business_key = ("complaint_id", "clock", "reopen_count")
    # When the breach was noticed (sweep time), not which breach it is.
    volatile_fields = ("breached_at",)

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    clock: SlaClock = Field(description="Which SLA clock was breached.")
    due_at: Timestamp = Field(description="The missed deadline.")
    breached_at: Timestamp = Field(description="When the breach was detected.")
    owner_id: EmployeeId | None = Field(None, description="Owner at the time of the breach.")
    reopen_count: ReopenCount | None = Field(None, description=_REOPEN_COUNT)


class ComplaintResolved(_Feedback):
    """The complaint was resolved; all its clocks stop."""

    business_key = ("complaint_id", "reopen_count")

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    resolved_by: EmployeeId = Field(description="Employee who resolved it.")
    resolution: FreeText = Field(description="What was done for the customer.")
    resolved_at: Timestamp = Field(description="When it was resolved.")
    within_sla: bool = Field(description="True if resolved before the resolution deadline.")
    severity: Severity | None = Field(None, description="Severity of the complaint (for KPIs).")
    reopen_count: ReopenCount | None = Field(None, description=_REOPEN_COUNT)


class ComplaintPaused(_Feedback):
    """The company waits for the customer: the complaint's running SLA clocks stop counting."""

    business_key = ("complaint_id", "pause_number")

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    pause_number: Annotated[Count, Field(ge=1)] = Field(
        description="1 for the complaint's first pause, 2 for the next, …"
    )
    reason: ShortText = Field(description="What the company waits for, e.g. invoice copy.")
    paused_by: EmployeeId = Field(description="Employee who paused the clocks.")
    paused_at: Timestamp = Field(description="When the clocks stopped counting.")


class ComplaintResumed(_Feedback):
    """The pause ended; the clocks count again and their deadlines moved by the time paused."""

    business_key = ("complaint_id", "pause_number")
    volatile_fields = ("first_response_due_at", "resolution_due_at")

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    pause_number: Annotated[Count, Field(ge=1)] = Field(description="The pause that ended.")
    trigger: Literal["agent", "customer_reply"] = Field(
        description="Resumed by an employee, or by the customer's answer arriving."
    )
    resumed_by: EmployeeId | None = Field(None, description="Employee who resumed, if any.")
    paused_at: Timestamp = Field(description="When the pause began.")
    resumed_at: Timestamp = Field(description="When the clocks started counting again.")
    paused_seconds: Seconds = Field(
        description="Business time of the pause (the complaint's calendar): how far the "
        "deadlines moved."
    )
    first_response_due_at: Timestamp | None = Field(
        None, description="New first-response deadline, if that clock still runs."
    )
    resolution_due_at: Timestamp | None = Field(
        None, description="New resolution deadline, if that clock still runs."
    )


class ComplaintReopened(_Feedback):
    """The customer disputed the resolution in time: the complaint is open again with a fresh
    resolution clock."""

    business_key = ("complaint_id", "reopen_count")

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    reopen_count: Annotated[Count, Field(ge=1)] = Field(
        description="1 for the first reopen, 2 for the next, …"
    )
    reason: ShortText = Field(description="Why the customer disputes the resolution.")
    reopened_by: EmployeeId | None = Field(
        None, description="Employee who recorded the dispute (absent: the customer's reply)."
    )
    reopened_at: Timestamp = Field(description="When the complaint was reopened.")
    previous_resolved_at: Timestamp = Field(description="When it had been resolved.")
    resolution_due_at: Timestamp = Field(description="Deadline of the fresh resolution clock.")
    owner_id: EmployeeId = Field(description="Owner of the reopened complaint.")


class ComplaintReassigned(_Feedback):
    """An open complaint moved to another owner because its customer's account did (its
    SLA clocks keep running)."""

    # A complaint may move back and forth; each move is a fact of its own.
    business_key = ()

    complaint_id: EntityId = Field(description="Id of the complaint.")
    customer_id: CustomerId
    previous_owner_id: EmployeeId = Field(description="Owner before the move.")
    new_owner_id: EmployeeId = Field(description="Owner after the move.")
    reason: Literal["reassigned", "employee_departed"] = Field(
        description="Why the account moved (the AccountOwnerChanged reason)."
    )


class FeedbackSubmitted(_Feedback):
    """The customer gave unsolicited feedback that is not a complaint."""

    business_key = ("feedback_id",)

    feedback_id: EntityId = Field(description="Id of the feedback.")
    customer_id: CustomerId
    # "problem" was added before the event was ever published (no consumer could break).
    kind: FeedbackKind = Field(description="Kind of feedback.")
    text: FreeText = Field(description="The feedback in the customer's words.")
    channel: Channel = Field(description="Channel through which it arrived.")
    submitted_at: Timestamp | None = Field(
        None, description="When it was given (defaults to the envelope time)."
    )
    product_area: ProductArea | None = Field(
        None, description="Product area it is about, for the team that acts on it."
    )
    sentiment: Sentiment | None = Field(None, description="The customer's tone.")


class FeedbackStatusChanged(_Feedback):
    """The team moved the feedback along new → reviewed → planned → done | declined and told
    the customer why (each status is reached at most once)."""

    business_key = ("feedback_id", "status")

    feedback_id: EntityId = Field(description="Id of the feedback.")
    customer_id: CustomerId
    status: Literal["reviewed", "planned", "done", "declined"] = Field(
        description="The status reached."
    )
    previous_status: Literal["new", "reviewed", "planned"] = Field(
        description="The status it left."
    )
    response: FreeText = Field(description="The answer to the customer for this step.")
    changed_by: EmployeeId = Field(description="Employee who moved it.")
    changed_at: Timestamp = Field(description="When it moved.")
    product_area: ProductArea | None = Field(None, description="Product area it is about.")


class SurveyAnswered(_Feedback):
    """The customer answered a satisfaction survey (CSAT 1-5 and/or NPS 0-10)."""

    business_key = ("survey_id",)

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["csat"],
                    "properties": {"csat": {"type": "integer", "minimum": 1, "maximum": 5}},
                },
                {
                    "required": ["nps"],
                    "properties": {"nps": {"type": "integer", "minimum": 0, "maximum": 10}},
                },
            ]
        }
    )

    survey_id: EntityId = Field(description="Id of the survey invitation.")
    customer_id: CustomerId
    trigger: Literal["complaint_resolved", "periodic", "other"] = Field(
        description="What prompted the survey."
    )
    csat: int | None = Field(None, ge=1, le=5, description="Customer satisfaction, 1 (bad)-5.")
    nps: int | None = Field(None, ge=0, le=10, description="Likelihood to recommend, 0-10.")
    comment: FreeText | None = Field(None, description="Optional free-text comment.")
    complaint_id: EntityId | None = Field(
        None, description="The resolved complaint that triggered the survey, if any."
    )
    answered_at: Timestamp = Field(description="When the answers were given.")

    @model_validator(mode="after")
    def _has_a_score(self) -> Self:
        if self.csat is None and self.nps is None:
            raise ValueError("a survey answer needs csat, nps or both")
        return self


class SurveyRequested(_Feedback):
    """The company asks the customer for a survey answer; the messaging system sends it."""

    business_key = ("survey_id",)

    survey_id: EntityId = Field(description="Id of the survey invitation; answers carry it.")
    customer_id: CustomerId
    kind: Literal["csat", "nps"] = Field(description="CSAT 1-5 or NPS 0-10.")
    trigger: Literal["complaint_resolved", "periodic"] = Field(
        description="What prompted the request."
    )
    channel: Channel = Field(description="Channel to send it through.")
    requested_at: Timestamp = Field(description="When the request was issued.")
    due_at: Timestamp = Field(description="Answers after this moment are not expected.")
    complaint_id: EntityId | None = Field(
        None, description="The resolved complaint it asks about (CSAT)."
    )


class SurveyExpired(_Feedback):
    """A survey request was not answered in time (counts against the response rate)."""

    business_key = ("survey_id",)

    survey_id: EntityId = Field(description="Id of the survey invitation.")
    customer_id: CustomerId
    kind: Literal["csat", "nps"] = Field(description="CSAT or NPS.")
    requested_at: Timestamp = Field(description="When it was requested.")
    expired_at: Timestamp = Field(description="When it expired unanswered.")


FEEDBACK_EVENTS: tuple[type[EventData], ...] = (
    ComplaintRaised,
    ComplaintAcknowledged,
    ComplaintEscalated,
    ComplaintSlaWarning,
    ComplaintSlaBreached,
    ComplaintResolved,
    FeedbackSubmitted,
    SurveyAnswered,
    ComplaintPaused,
    ComplaintResumed,
    ComplaintReopened,
    FeedbackStatusChanged,
    SurveyRequested,
    SurveyExpired,
    ComplaintReassigned,
)
