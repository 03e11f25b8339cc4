"""Feedback and suggestions (praise, suggestion, problem): what the customer said, and what
the team did about it — new → reviewed → planned → done | declined, each step with an answer
to the customer. Pure state and decisions; every step is a FeedbackStatusChanged fact."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from crm_events import CloudEvent
from crm_events.feedback import FeedbackStatusChanged
from crm_feedback.domain import to_millis
from crm_runtime.errors import Conflict, NotFound
from crm_runtime.store import Decision

NEW = "new"
# Where each status may go next; done and declined are final.
NEXT: dict[str, tuple[str, ...]] = {
    NEW: ("reviewed", "declined"),
    "reviewed": ("planned", "done", "declined"),
    "planned": ("done", "declined"),
    "done": (),
    "declined": (),
}


@dataclass(frozen=True)
class Response:
    """One step of the workflow: the status reached and the answer given to the customer."""

    status: str
    response: str
    by: str
    at: datetime


@dataclass(frozen=True)
class FeedbackItem:
    feedback_id: str
    customer_id: str
    kind: str
    text: str
    channel: str
    submitted_at: datetime
    submitted_event_id: str
    correlation_id: str
    product_area: str | None = None
    sentiment: str | None = None
    status: str = NEW
    responses: dict[str, Response] = field(default_factory=dict)  # by status reached
    updated_at: datetime | None = None
    version: int = 1


@dataclass(frozen=True)
class FeedbackGiven:
    """Fact: the customer gave feedback (here over HTTP, or in another system)."""

    event_id: str
    correlation_id: str
    feedback_id: str
    customer_id: str
    kind: str
    text: str
    channel: str
    submitted_at: datetime
    product_area: str | None = None
    sentiment: str | None = None


def submit(
    state: FeedbackItem | None, fact: FeedbackGiven, announce: Sequence[CloudEvent] = ()
) -> Decision[FeedbackItem]:
    """Stored once; another event for the same feedback id is a conflict."""
    if state is not None:
        if state.submitted_event_id == fact.event_id:
            return Decision()
        raise Conflict(f"feedback {fact.feedback_id} already exists")
    item = FeedbackItem(
        feedback_id=fact.feedback_id,
        customer_id=fact.customer_id,
        kind=fact.kind,
        text=fact.text,
        channel=fact.channel,
        submitted_at=to_millis(fact.submitted_at),
        submitted_event_id=fact.event_id,
        correlation_id=fact.correlation_id,
        product_area=fact.product_area,
        sentiment=fact.sentiment,
    )
    return Decision(item, publish=announce)


@dataclass(frozen=True)
class StatusChange:
    feedback_id: str
    status: str
    response: str
    by: str
    event_id: str
    now: datetime
    source: str


def change_status(state: FeedbackItem | None, change: StatusChange) -> Decision[FeedbackItem]:
    if state is None:
        raise NotFound(f"feedback {change.feedback_id} not found")
    if change.status not in NEXT[state.status]:
        allowed = ", ".join(NEXT[state.status]) or "nothing (final)"
        raise Conflict(f"feedback {state.feedback_id} is {state.status}; it can move to {allowed}")
    step = Response(change.status, change.response, change.by, change.now)
    changed = replace(
        state,
        status=change.status,
        responses={**state.responses, change.status: step},
        updated_at=change.now,
    )
    fact = FeedbackStatusChanged(
        feedback_id=state.feedback_id,
        customer_id=state.customer_id,
        status=change.status,
        previous_status=state.status,
        response=change.response,
        changed_by=change.by,
        changed_at=change.now,
        product_area=state.product_area,
    )
    event = fact.to_event(
        source=change.source,
        event_id=change.event_id,
        time=change.now,
        correlation_id=state.correlation_id,
        causation_id=state.submitted_event_id,
    )
    return Decision(changed, publish=[event])
