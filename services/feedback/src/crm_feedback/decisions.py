"""Feedback's rules as pure decisions: (complaint or survey, fact, now) → new state, events to
publish, due date. No I/O; the aggregate store applies each exactly once.

A complaint's due date is decided here with its state — the earliest pending SLA warning or
breach (``Complaint.next_due_at``) — so the in-memory store sees the same timers as MongoDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from crm_events import CloudEvent, deterministic_event_id
from crm_events.base import EventData
from crm_feedback import domain, sla
from crm_feedback.domain import Complaint, ComplaintFiled, Survey, SurveyAnswer
from crm_feedback.sla import SlaPolicy
from crm_runtime.errors import Conflict, NotFound
from crm_runtime.store import Decision
from crm_runtime.timestamps import stamp


def file_complaint(
    state: Complaint | None,
    fact: ComplaintFiled,
    *,
    warning_fraction: float,
    announce: Sequence[CloudEvent] = (),
) -> Decision[Complaint]:
    """Opens the complaint with the deadlines the fact carries; its clocks start."""
    complaint = domain.open_complaint(
        fact,
        raised_at=fact.raised_at,
        event_id=fact.event_id,
        correlation_id=fact.correlation_id,
        warning_fraction=warning_fraction,
    )
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
) -> Decision[Complaint]:
    known = _known(state, complaint_id)
    changed, fact = domain.acknowledge(known, by=by, at=now)
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
) -> Decision[Complaint]:
    known = _known(state, complaint_id)
    changed, fact = domain.resolve(known, by=by, resolution=resolution, at=now)
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


def timer_event_id(source: str, complaint_id: str, clock: str, kind: str) -> str:
    """(complaint, clock, kind) identifies a timer event for ever."""
    return deterministic_event_id(source, "complaint", complaint_id, clock, kind)


def answer_survey(
    state: Survey | None, fact: SurveyAnswer, now: datetime, announce: Sequence[CloudEvent] = ()
) -> Decision[Survey]:
    """A survey is answered once; another event answering it again conflicts."""
    if state is None:
        return Decision(domain.record_survey(fact, at=now), publish=announce)
    if state.answered_event_id == fact.event_id:
        return Decision()  # stored before the applied markers existed
    raise Conflict(f"survey {fact.survey_id} was already answered")


def _known(state: Complaint | None, complaint_id: str) -> Complaint:
    if state is None:
        raise NotFound(f"complaint {complaint_id} not found")
    return state


def _transition(
    changed: Complaint, now: datetime, publish: Sequence[CloudEvent]
) -> Decision[Complaint]:
    return Decision(replace(changed, updated_at=now), publish=publish, due=changed.next_due_at)


def _fired_event(complaint: Complaint, item: sla.Fired, now: datetime, source: str) -> CloudEvent:
    event_id = timer_event_id(source, complaint.complaint_id, item.clock, item.kind)
    cause = (
        timer_event_id(source, complaint.complaint_id, item.clock, "sla-breached")
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
