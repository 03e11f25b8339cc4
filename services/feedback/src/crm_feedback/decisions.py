"""Feedback's rules as pure decisions: (complaint or survey, fact, now) → new state, events to
publish, due date. No I/O; the aggregate store applies each exactly once.

A complaint's due date is decided here with its state — the earliest pending SLA warning or
breach (``Complaint.next_due_at``) — so the in-memory store sees the same timers as MongoDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from crm_events import CloudEvent, deterministic_event_id
from crm_events.base import EventData
from crm_feedback import desk, domain, sla
from crm_feedback.answers import Survey, SurveyAnswer, record_survey
from crm_feedback.desk import CustomerReply
from crm_feedback.domain import Complaint, ComplaintFiled
from crm_feedback.sla import SlaPolicy
from crm_runtime.errors import Conflict, MissingPrerequisite, NotFound, Unprocessable
from crm_runtime.store import Decision
from crm_runtime.timestamps import stamp


def file_complaint(
    state: Complaint | None,
    fact: ComplaintFiled,
    *,
    policy: SlaPolicy,
    announce: Sequence[CloudEvent] = (),
) -> Decision[Complaint]:
    """Opens the complaint with the deadlines the fact carries; its clocks start and count
    in the calendar of its severity (and segment)."""
    complaint = domain.open_complaint(
        fact,
        raised_at=fact.raised_at,
        event_id=fact.event_id,
        correlation_id=fact.correlation_id,
        warning_fraction=policy.warning_fraction,
        calendar=policy.calendar_for(fact.severity.value, fact.segment),
    )
    named = fact.named_owner_id
    complaint = replace(complaint, named_owner_id=named, handed_over_from=named)
    if state is None:
        return Decision(complaint, publish=announce, due=complaint.next_due_at)
    if state.raised_event_id == fact.event_id:
        return Decision()  # stored before the applied markers existed
    raise Conflict(f"complaint {fact.complaint_id} already exists")


def acknowledge(
    state: Complaint | None,
    complaint_id: str,
    *,
    by: str,
    event_id: str,
    now: datetime,
    source: str,
    policy: SlaPolicy,
) -> Decision[Complaint]:
    known = _known(state, complaint_id)
    changed, fact = domain.acknowledge(known, by=by, at=now, calendar=policy.calendar_of(known))
    return _transition(changed, now, [_derived(fact, event_id, now, known, source)])


def resolve(
    state: Complaint | None,
    complaint_id: str,
    *,
    by: str,
    resolution: str,
    event_id: str,
    now: datetime,
    source: str,
    policy: SlaPolicy,
) -> Decision[Complaint]:
    known = _known(state, complaint_id)
    calendar = policy.calendar_of(known)
    changed, fact = domain.resolve(known, by=by, resolution=resolution, at=now, calendar=calendar)
    return _transition(changed, now, [_derived(fact, event_id, now, known, source)])


def sweep(
    state: Complaint | None, now: datetime, *, policy: SlaPolicy, source: str
) -> Decision[Complaint]:
    """Timer: the warnings, breaches and escalations due at ``now`` (each once per clock)."""
    if state is None:
        return Decision()
    changed, fired = sla.sweep(state, now, policy)
    if not fired:
        return Decision()
    return _transition(changed, now, [_fired_event(state, item, now, source) for item in fired])


def sweep_id(complaint: Complaint, source: str) -> str:
    """The marker of the sweep for the complaint's current due moment: two replicas sweeping
    the same moment apply it once; the next due moment is always later, so a new sweep."""
    due = complaint.next_due_at
    moment = "none" if due is None else stamp(due)
    return deterministic_event_id(source, "complaint", complaint.complaint_id, "sweep", moment)


def timer_event_id(source: str, complaint_id: str, clock: str, kind: str, cycle: int = 0) -> str:
    """(complaint, clock, kind, resolution cycle) identifies a timer event for ever; the first
    cycle keeps the ids it had before reopening existed."""
    cycled = (f"cycle-{cycle}",) if cycle else ()
    return deterministic_event_id(source, "complaint", complaint_id, clock, kind, *cycled)


def pause(
    state: Complaint | None, command: Command, *, reason: str, by: str
) -> Decision[Complaint]:
    known = _known(state, command.complaint_id)
    changed, fact = desk.pause(known, reason=reason, by=by, at=command.now)
    return _transition(changed, command.now, [_command_event(fact, command, known)])


def resume(
    state: Complaint | None, command: Command, *, by: str, policy: SlaPolicy
) -> Decision[Complaint]:
    known = _known(state, command.complaint_id)
    changed, fact = desk.resume(known, at=command.now, calendar=policy.calendar_of(known), by=by)
    return _transition(changed, command.now, [_command_event(fact, command, known)])


def reopen(
    state: Complaint | None, command: Command, *, reason: str, by: str | None, policy: SlaPolicy
) -> Decision[Complaint]:
    known = _known(state, command.complaint_id)
    changed, fact = desk.reopen(
        known,
        reason=reason,
        at=command.now,
        window=policy.reopen_window,
        resolution_due_at=policy.fresh_resolution_due(known, command.now),
        warning_fraction=policy.warning_fraction,
        calendar=policy.calendar_of(known),
        by=by,
    )
    return _transition(changed, command.now, [_command_event(fact, command, known)])


def customer_replied(
    state: Complaint | None, reply: CustomerReply, command: Command, *, policy: SlaPolicy
) -> Decision[Complaint]:
    """Every reply is noted on the complaint (``last_customer_reply_at``); an answer resumes
    a paused complaint, a dispute reopens a resolved one (within the window)."""
    if state is None:
        raise MissingPrerequisite(f"complaint {reply.complaint_id} not seen yet")
    if state.customer_id != reply.customer_id:
        raise Unprocessable(f"complaint {reply.complaint_id} belongs to another customer")
    replied_at = domain.to_millis(reply.replied_at)
    last = max(filter(None, (state.last_customer_reply_at, replied_at)))
    noted = replace(state, last_customer_reply_at=last)
    if reply.kind == "answer" and state.paused_at is not None:
        at = min(max(replied_at, state.paused_at), command.now)
        changed, fact = desk.resume(noted, at=at, calendar=policy.calendar_of(state))
        return _transition(changed, command.now, [_command_event(fact, command, state)])
    if reply.kind == "dispute" and state.status == domain.RESOLVED:
        reason = reply.reason or "the customer disputes the resolution"
        when = replace(command, now=_reply_moment(replied_at, state, command.now))
        return reopen(noted, when, reason=reason, by=None, policy=policy)
    return _transition(noted, command.now, [])


def _reply_moment(replied_at: datetime, state: Complaint, now: datetime) -> datetime:
    """When the dispute counts: its reply time, but not before the resolution nor after now."""
    return min(max(replied_at, state.resolved_at or replied_at), now)


def answer_survey(
    state: Survey | None, fact: SurveyAnswer, now: datetime, announce: Sequence[CloudEvent] = ()
) -> Decision[Survey]:
    """A survey is answered once; another event answering it again conflicts."""
    if state is None:
        return Decision(record_survey(fact, at=now), publish=announce)
    if state.answered_event_id == fact.event_id:
        return Decision()  # stored before the applied markers existed
    raise Conflict(f"survey {fact.survey_id} was already answered")


@dataclass(frozen=True)
class Command:
    """Who asks what of which complaint, when, with which event id (HTTP or consumed)."""

    complaint_id: str
    event_id: str
    now: datetime
    source: str
    cause_id: str | None = None  # the consumed event behind it (default: the raise)


def _command_event(fact: EventData, command: Command, complaint: Complaint) -> CloudEvent:
    return _derived(
        fact, command.event_id, command.now, complaint, command.source, command.cause_id
    )


def _known(state: Complaint | None, complaint_id: str) -> Complaint:
    if state is None:
        raise NotFound(f"complaint {complaint_id} not found")
    return state


def _transition(
    changed: Complaint, now: datetime, publish: Sequence[CloudEvent]
) -> Decision[Complaint]:
    return Decision(replace(changed, updated_at=now), publish=publish, due=changed.next_due_at)


def _fired_event(complaint: Complaint, item: sla.Fired, now: datetime, source: str) -> CloudEvent:
    event_id = timer_event_id(source, complaint.complaint_id, item.clock, item.kind, item.cycle)
    cause = (
        timer_event_id(source, complaint.complaint_id, item.clock, "sla-breached", item.cycle)
        if item.kind == "escalated"
        else complaint.raised_event_id
    )
    return _derived(item.fact, event_id, now, complaint, source, cause)


def _derived(
    fact: EventData,
    event_id: str,
    now: datetime,
    complaint: Complaint,
    source: str,
    cause_id: str | None = None,
) -> CloudEvent:
    """Every event of a complaint shares the correlation id of its ComplaintRaised."""
    return fact.to_event(
        source=source,
        event_id=event_id,
        time=now,
        correlation_id=complaint.correlation_id,
        causation_id=cause_id or complaint.raised_event_id,
    )
