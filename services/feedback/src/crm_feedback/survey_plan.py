"""Surveys that are sent: one plan per customer holds the survey requests it was sent or is
about to be sent, and the NPS cadence.

- After a complaint is resolved, a CSAT request is scheduled ``csat_delay`` later (one per
  resolution cycle: a reopened and resolved-again complaint asks again).
- NPS is requested every ``nps_cadence`` from the customer's first appearance, never sooner
  than ``nps_min_interval`` after the last NPS request or answer, never after the exit.
- A sent request is answered (the answer carries its survey id) or expires at ``due_at``.

Pure: (plan, fact, now, rules) → Decision. The plan's due date is the earliest pending send,
expiry or NPS moment, so the sweeper sends and expires with the same decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from crm_events import CloudEvent, deterministic_event_id
from crm_events.feedback import SurveyExpired, SurveyRequested
from crm_feedback.domain import to_millis
from crm_runtime.store import Decision

SCHEDULED, SENT, ANSWERED, EXPIRED, CANCELLED = (
    "scheduled",
    "sent",
    "answered",
    "expired",
    "cancelled",
)
FINISHED = (ANSWERED, EXPIRED, CANCELLED)
# Finished requests are forgotten after this long (the events keep the history).
KEEP_FINISHED = timedelta(days=400)


@dataclass(frozen=True)
class SurveyRules:
    csat_delay: timedelta
    answer_window: timedelta
    nps_cadence: timedelta
    nps_min_interval: timedelta
    channel: str
    source: str


@dataclass(frozen=True)
class SurveyRequest:
    survey_id: str
    kind: str  # csat | nps
    trigger: str  # complaint_resolved | periodic
    channel: str
    send_at: datetime
    status: str = SCHEDULED
    complaint_id: str | None = None
    sent_at: datetime | None = None
    due_at: datetime | None = None
    finished_at: datetime | None = None
    correlation_id: str | None = None  # the complaint's journey, for a CSAT request
    cause_id: str | None = None  # the event that scheduled it (the resolution)

    @property
    def next_moment(self) -> datetime | None:
        if self.status == SCHEDULED:
            return self.send_at
        if self.status == SENT:
            return self.due_at
        return None


@dataclass(frozen=True)
class SurveyPlan:
    customer_id: str
    first_seen_at: datetime
    next_nps_at: datetime | None
    last_nps_at: datetime | None = None  # last NPS request sent or answer given
    exited_at: datetime | None = None
    registered_at: datetime | None = None
    requests: dict[str, SurveyRequest] = field(default_factory=dict)
    version: int = 1

    @property
    def next_due_at(self) -> datetime | None:
        moments = [m for r in self.requests.values() if (m := r.next_moment) is not None]
        if self.next_nps_at is not None and self.exited_at is None:
            moments.append(self.next_nps_at)
        return min(moments, default=None)

    def counts(self) -> dict[str, dict[str, int]]:
        """Requests per kind and status (what the response rate is computed from)."""
        tally: dict[str, dict[str, int]] = {}
        for request in self.requests.values():
            per_kind = tally.setdefault(request.kind, {})
            per_kind[request.status] = per_kind.get(request.status, 0) + 1
        return tally


def csat_survey_id(complaint_id: str, reopen_count: int, source: str) -> str:
    """One CSAT request per resolution cycle of a complaint, whoever notices it first."""
    raw = deterministic_event_id(source, "csat", complaint_id, str(reopen_count))
    return f"srv-{raw.replace('-', '')[:20]}"


def _plan(
    state: SurveyPlan | None, customer_id: str, at: datetime, rules: SurveyRules
) -> SurveyPlan:
    if state is not None:
        return state
    return SurveyPlan(customer_id, at, next_nps_at=to_millis(at + rules.nps_cadence))


def _decided(plan: SurveyPlan, publish: list[CloudEvent] | None = None) -> Decision[SurveyPlan]:
    return Decision(plan, publish=publish or [], due=plan.next_due_at)


def registered(
    state: SurveyPlan | None, customer_id: str, at: datetime, rules: SurveyRules
) -> Decision[SurveyPlan]:
    """The customer entered the directory: the NPS cadence starts if it had not."""
    plan = _plan(state, customer_id, at, rules)
    if plan.registered_at is not None:
        return Decision()
    return _decided(replace(plan, registered_at=at))


def complaint_resolved(
    state: SurveyPlan | None,
    *,
    customer_id: str,
    complaint_id: str,
    reopen_count: int,
    resolved_at: datetime,
    rules: SurveyRules,
    correlation_id: str | None = None,
    cause_id: str | None = None,
) -> Decision[SurveyPlan]:
    """Schedule the CSAT request; after the exit nobody is asked anything."""
    plan = _plan(state, customer_id, resolved_at, rules)
    survey_id = csat_survey_id(complaint_id, reopen_count, rules.source)
    if plan.exited_at is not None or survey_id in plan.requests:
        return _decided(plan) if state is None else Decision()
    request = SurveyRequest(
        survey_id=survey_id,
        kind="csat",
        trigger="complaint_resolved",
        channel=rules.channel,
        send_at=to_millis(resolved_at + rules.csat_delay),
        complaint_id=complaint_id,
        correlation_id=correlation_id,
        cause_id=cause_id,
    )
    return _decided(replace(plan, requests={**plan.requests, survey_id: request}))


def exited(
    state: SurveyPlan | None, customer_id: str, at: datetime, rules: SurveyRules
) -> Decision[SurveyPlan]:
    """No NPS any more; requests not sent yet are cancelled (sent ones may still come back)."""
    plan = _plan(state, customer_id, at, rules)
    if plan.exited_at is not None:
        return Decision()
    requests = {
        sid: replace(r, status=CANCELLED, finished_at=at) if r.status == SCHEDULED else r
        for sid, r in plan.requests.items()
    }
    return _decided(replace(plan, exited_at=at, next_nps_at=None, requests=requests))


def answered(
    state: SurveyPlan | None,
    *,
    customer_id: str,
    survey_id: str,
    nps_given: bool,
    answered_at: datetime,
    rules: SurveyRules,
) -> Decision[SurveyPlan]:
    """An answer closes its request (sent or even expired: a late answer still counts as
    answered); an NPS answer of any origin pushes the next NPS request out."""
    plan = _plan(state, customer_id, answered_at, rules)
    request = plan.requests.get(survey_id)
    if request is not None and request.status in (SENT, EXPIRED, SCHEDULED):
        finished = replace(request, status=ANSWERED, finished_at=answered_at)
        plan = replace(plan, requests={**plan.requests, survey_id: finished})
    if nps_given:
        plan = _after_nps(plan, answered_at, rules)
    return _decided(plan)


def due(state: SurveyPlan | None, now: datetime, rules: SurveyRules) -> Decision[SurveyPlan]:
    """Timer: send what is due, expire what went unanswered, issue the periodic NPS."""
    if state is None:
        return Decision()
    plan, events = state, []
    for request in state.requests.values():
        plan, event = _step(plan, request, now, rules)
        events.extend(event)
    plan, nps = _periodic_nps(plan, now, rules)
    events.extend(nps)
    plan = _forget_old(plan, now)
    return _decided(plan, events) if plan != state else Decision()


def _step(
    plan: SurveyPlan, request: SurveyRequest, now: datetime, rules: SurveyRules
) -> tuple[SurveyPlan, list[CloudEvent]]:
    if request.status == SCHEDULED and request.send_at <= now:
        sent = replace(
            request, status=SENT, sent_at=now, due_at=to_millis(now + rules.answer_window)
        )
        return _with(plan, sent), [_requested(plan, sent, rules)]
    if request.status == SENT and request.due_at is not None and request.due_at <= now:
        expired = replace(request, status=EXPIRED, finished_at=now)
        return _with(plan, expired), [_expired(plan, expired, rules)]
    return plan, []


def _periodic_nps(
    plan: SurveyPlan, now: datetime, rules: SurveyRules
) -> tuple[SurveyPlan, list[CloudEvent]]:
    if plan.exited_at is not None or plan.next_nps_at is None or plan.next_nps_at > now:
        return plan, []
    earliest = plan.last_nps_at + rules.nps_min_interval if plan.last_nps_at else None
    if earliest is not None and earliest > now:
        return replace(plan, next_nps_at=to_millis(earliest)), []
    raw = deterministic_event_id(
        rules.source, "nps", plan.customer_id, plan.next_nps_at.isoformat()
    )
    request = SurveyRequest(
        survey_id=f"srv-{raw.replace('-', '')[:20]}",
        kind="nps",
        trigger="periodic",
        channel=rules.channel,
        send_at=now,
        status=SENT,
        sent_at=now,
        due_at=to_millis(now + rules.answer_window),
    )
    plan = replace(
        _with(plan, request), last_nps_at=now, next_nps_at=to_millis(now + rules.nps_cadence)
    )
    return plan, [_requested(plan, request, rules)]


def _after_nps(plan: SurveyPlan, at: datetime, rules: SurveyRules) -> SurveyPlan:
    """An NPS answer given (whatever asked for it): the next periodic request keeps its
    date but comes no sooner than ``nps_min_interval`` after this one."""
    last = max(filter(None, (plan.last_nps_at, at)))
    if plan.exited_at is not None or plan.next_nps_at is None:
        return replace(plan, last_nps_at=last)
    next_at = max(plan.next_nps_at, to_millis(last + rules.nps_min_interval))
    return replace(plan, last_nps_at=last, next_nps_at=next_at)


def _forget_old(plan: SurveyPlan, now: datetime) -> SurveyPlan:
    keep = {
        sid: r
        for sid, r in plan.requests.items()
        if r.status not in FINISHED or r.finished_at is None or r.finished_at > now - KEEP_FINISHED
    }
    return plan if len(keep) == len(plan.requests) else replace(plan, requests=keep)


def _with(plan: SurveyPlan, request: SurveyRequest) -> SurveyPlan:
    return replace(plan, requests={**plan.requests, request.survey_id: request})


def _requested(plan: SurveyPlan, request: SurveyRequest, rules: SurveyRules) -> CloudEvent:
    assert request.sent_at is not None
    assert request.due_at is not None
    data = SurveyRequested.model_validate(
        {
            "survey_id": request.survey_id,
            "customer_id": plan.customer_id,
            "kind": request.kind,
            "trigger": request.trigger,
            "channel": request.channel,
            "requested_at": request.sent_at,
            "due_at": request.due_at,
            "complaint_id": request.complaint_id,
        }
    )
    event_id = deterministic_event_id(rules.source, "survey-requested", request.survey_id)
    return data.to_event(
        source=rules.source,
        event_id=event_id,
        time=request.sent_at,
        correlation_id=request.correlation_id,
        causation_id=request.cause_id,
    )


def _expired(plan: SurveyPlan, request: SurveyRequest, rules: SurveyRules) -> CloudEvent:
    assert request.sent_at is not None
    assert request.finished_at is not None
    data = SurveyExpired.model_validate(
        {
            "survey_id": request.survey_id,
            "customer_id": plan.customer_id,
            "kind": request.kind,
            "requested_at": request.sent_at,
            "expired_at": request.finished_at,
        }
    )
    event_id = deterministic_event_id(rules.source, "survey-expired", request.survey_id)
    requested = deterministic_event_id(rules.source, "survey-requested", request.survey_id)
    return data.to_event(
        source=rules.source,
        event_id=event_id,
        time=request.finished_at,
        correlation_id=request.correlation_id or requested,
        causation_id=requested,
    )
