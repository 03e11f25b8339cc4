"""Service-desk transitions of a complaint: pause while waiting for the customer, resume
(by an agent or by the customer's answer), reopen when the customer disputes a resolution.

Pure: (complaint, command, now, calendar) → (new complaint, the fact to publish). Every
transition is a fact of its own (ComplaintPaused / ComplaintResumed / ComplaintReopened), so
each clock change is auditable from the events alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from crm_events.feedback import ComplaintPaused, ComplaintReopened, ComplaintResumed
from crm_feedback.business_time import BusinessCalendar
from crm_feedback.domain import (
    FIRST_RESPONSE,
    OPEN,
    RESOLUTION,
    RESOLVED,
    Complaint,
    SlaClock,
    end_pause,
)
from crm_runtime.errors import Conflict, DomainError


def pause(
    complaint: Complaint, *, reason: str, by: str, at: datetime
) -> tuple[Complaint, ComplaintPaused]:
    """The running clocks stop counting until the pause ends."""
    if complaint.status == RESOLVED:
        raise Conflict(f"complaint {complaint.complaint_id} is resolved; it cannot be paused")
    if complaint.paused_at is not None:
        raise Conflict(f"complaint {complaint.complaint_id} is already paused")
    number = complaint.pause_count + 1
    changed = replace(complaint, paused_at=at, pause_reason=reason, pause_count=number)
    fact = ComplaintPaused(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        pause_number=number,
        reason=reason,
        paused_by=by,
        paused_at=at,
    )
    return changed, fact


def resume(
    complaint: Complaint,
    *,
    at: datetime,
    calendar: BusinessCalendar,
    by: str | None = None,
) -> tuple[Complaint, ComplaintResumed]:
    """The clocks count again; their deadlines (and pending warnings) moved by the business
    time paused. ``by`` None: the customer's answer resumed it."""
    if complaint.paused_at is None:
        raise Conflict(f"complaint {complaint.complaint_id} is not paused")
    changed = end_pause(complaint, at, calendar)
    fact = ComplaintResumed(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        pause_number=complaint.pause_count,
        trigger="customer_reply" if by is None else "agent",
        resumed_by=by,
        paused_at=complaint.paused_at,
        resumed_at=at,
        paused_seconds=changed.paused_seconds - complaint.paused_seconds,
        first_response_due_at=_due_if_running(changed.clocks[FIRST_RESPONSE]),
        resolution_due_at=_due_if_running(changed.clocks[RESOLUTION]),
    )
    return changed, fact


def reopen(
    complaint: Complaint,
    *,
    reason: str,
    at: datetime,
    window: timedelta,
    resolution_due_at: datetime,
    warning_fraction: float,
    calendar: BusinessCalendar,
    by: str | None = None,
) -> tuple[Complaint, ComplaintReopened]:
    """A dispute within ``window`` of the resolution opens the complaint again with a fresh
    resolution clock (the first response was given already; its clock stays stopped)."""
    if complaint.status != RESOLVED or complaint.resolved_at is None:
        raise Conflict(f"complaint {complaint.complaint_id} is not resolved; nothing to reopen")
    if at > complaint.resolved_at + window:
        raise DomainError(
            f"complaint {complaint.complaint_id} was resolved more than "
            f"{window.days} days ago; raise a new complaint instead"
        )
    count = complaint.reopen_count + 1
    clock = SlaClock.start(at, resolution_due_at, warning_fraction, calendar)
    changed = replace(
        complaint,
        status=OPEN,
        reopen_count=count,
        reopened_at=at,
        resolved_at=None,
        resolved_by=None,
        resolution=None,
        within_sla=None,
        clocks={**complaint.clocks, RESOLUTION: clock},
    )
    fact = ComplaintReopened(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        reopen_count=count,
        reason=reason,
        reopened_by=by,
        reopened_at=at,
        previous_resolved_at=complaint.resolved_at,
        resolution_due_at=resolution_due_at,
        owner_id=complaint.owner_id,
    )
    return changed, fact


def _due_if_running(clock: SlaClock) -> datetime | None:
    return clock.due_at if clock.running else None


@dataclass(frozen=True)
class CustomerReply:
    """Fact: the customer answered about a complaint (information, or a dispute)."""

    event_id: str
    reply_id: str
    customer_id: str
    complaint_id: str
    kind: str  # "answer" | "dispute"
    replied_at: datetime
    reason: str | None = None
