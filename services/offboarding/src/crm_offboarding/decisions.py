"""Offboarding's rules as pure decisions: (state, fact, now) → new state and events to
publish. No I/O; the aggregate store applies each exactly once per event id.

Two aggregates: the **case**, and the customer's **open-case marker** (which case is open,
the risk that opened it, which case holds each risk id). A risk is first routed on the
marker (the one-open-case-per-customer serialization point), then taken by the case it was
routed to; a case never written after its marker (crash) is opened from the marker's seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime

from crm_events import CloudEvent, EventData, deterministic_event_id
from crm_events.common import RiskCategory
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    NegotiationRoundHeld,
    OffboardingCaseOpened,
    RetentionOfferMade,
)
from crm_offboarding.aftercare import AftercareRules
from crm_offboarding.domain import (
    Case,
    ExitAgreement,
    NegotiationRound,
    OpenCaseMarker,
    RetentionOffer,
    RetentionOutcome,
    RiskNoticed,
    TerminationPlan,
    case_id_for,
)
from crm_offboarding.lifecycle import accepts_risks
from crm_runtime.errors import Conflict, NotFound
from crm_runtime.store import Decision

Step = Callable[[Case, datetime], tuple[Case, EventData | None]]


class CaseConcluded(Conflict):
    """The case a risk was routed to takes no more risks (its marker was not released yet).

    Raised, not answered with "no change": a consumer's batch that re-decides after a lost
    race must see the refusal, so the poll is redelivered and the risk rerouted."""


# --- the customer's marker -----------------------------------------------------------------
def route(marker: OpenCaseMarker | None, fact: RiskNoticed) -> Decision[OpenCaseMarker]:
    """A risk the customer's cases hold already stays where it is; a new one joins the open
    case, or opens one named after its event."""
    if marker is not None and fact.risk_id in marker.risks:
        return Decision()
    if marker is None or marker.case_id is None:
        return Decision(_opening(marker, fact))
    return Decision(replace(marker, risks={**marker.risks, fact.risk_id: marker.case_id}))


def reroute(
    marker: OpenCaseMarker | None, fact: RiskNoticed, concluded: str
) -> Decision[OpenCaseMarker]:
    """The case the risk was routed to no longer takes risks (crash between concluding it
    and releasing the marker): open a case for the risk, unless another is open by now."""
    if marker is None or marker.case_id in (None, concluded):
        return Decision(_opening(marker, fact))
    return Decision(replace(marker, risks={**marker.risks, fact.risk_id: marker.case_id}))


def release(marker: OpenCaseMarker | None, case_id: str) -> Decision[OpenCaseMarker]:
    """The case is concluded without an exit: the customer's next risk opens a new case."""
    if marker is None or marker.case_id != case_id:
        return Decision()
    return Decision(replace(marker, case_id=None, opening=None))


def _opening(marker: OpenCaseMarker | None, fact: RiskNoticed) -> OpenCaseMarker:
    case_id = case_id_for(fact.event_id)
    risks = {**(marker.risks if marker else {}), fact.risk_id: case_id}
    return OpenCaseMarker(fact.customer_id, case_id, fact, risks)


# --- the case: intake ---------------------------------------------------------------------------
def take_risk(
    case: Case | None,
    fact: RiskNoticed,
    seed: RiskNoticed | None,
    now: datetime,
    *,
    source: str,
    rules: AftercareRules,
) -> Decision[Case]:
    """Add the risk to the case; a case not written yet is opened from ``seed`` first. A
    case that holds the risk already stays as it is; one concluded raises ``CaseConcluded``."""
    publish: list[CloudEvent] = []
    if case is None:
        if seed is None:
            return Decision()
        case, opened = open_case(seed, now, source=source)
        publish.append(opened)
    if fact.risk_id in case.risks:
        return Decision(case if publish else None, publish=publish, due=case.next_due(rules))
    if not accepts_risks(case.state):
        raise CaseConcluded(f"case {case.case_id} is {case.state.value}")
    added = case.add_risk(fact.risk, now)
    return Decision(added, publish=publish, due=added.next_due(rules))


def open_case(seed: RiskNoticed, now: datetime, *, source: str) -> tuple[Case, CloudEvent]:
    opened_id = deterministic_event_id(seed.event_id, "offboarding-case-opened")
    case = Case.open(seed, opened_event_id=opened_id, now=now)
    opened = OffboardingCaseOpened(
        case_id=case.case_id,
        customer_id=case.customer_id,
        risk_id=seed.risk_id,
        category=RiskCategory(seed.risk.category),
        reasons=seed.risk.reasons,
        owner_id=seed.owner_id,
    ).to_event(
        source=source,
        event_id=opened_id,
        time=now,
        correlation_id=seed.correlation_id,
        causation_id=seed.event_id,
    )
    return case, opened


# --- the case: commands (HTTP) ---------------------------------------------------------------
def command(
    case: Case | None,
    case_id: str,
    step: Step,
    event_id: str,
    now: datetime,
    *,
    source: str,
    rules: AftercareRules,
) -> Decision[Case]:
    """One step of the process; its event continues the journey of the risk that opened
    the case, caused by the case's last event. The due date follows from the new state."""
    if case is None:
        raise NotFound(f"case {case_id} not found")
    changed, data = step(case, now)
    publish: list[CloudEvent] = []
    if data is not None:
        changed, event = emit(changed, data, event_id, now, source=source)
        publish.append(event)
    changed = replace(changed, updated_at=now)
    return Decision(changed, publish=publish, due=changed.next_due(rules))


def emit(
    case: Case, data: EventData, event_id: str, now: datetime, *, source: str
) -> tuple[Case, CloudEvent]:
    """The case's next event: same journey, caused by the case's previous event."""
    event = data.to_event(
        source=source,
        event_id=event_id,
        time=now,
        correlation_id=case.correlation_id,
        causation_id=case.last_event_id,
    )
    return replace(case, last_event_id=event.id), event


def choose_retention(offer: RetentionOffer) -> Step:
    def step(case: Case, now: datetime) -> tuple[Case, EventData | None]:
        changed = case.choose_retention(offer, now)
        return changed, RetentionOfferMade(
            case_id=case.case_id, customer_id=case.customer_id, **asdict(offer)
        )

    return step


def choose_termination(plan: TerminationPlan) -> Step:
    # No contract event exists for this decision yet; the case records it.
    return lambda case, now: (case.choose_termination(plan, now), None)


def record_round(held: NegotiationRound) -> Step:
    def step(case: Case, now: datetime) -> tuple[Case, EventData | None]:
        changed, recorded = case.record_round(held, now)
        return changed, NegotiationRoundHeld(
            case_id=case.case_id,
            customer_id=case.customer_id,
            round=recorded.number,
            channel=recorded.channel,
            participants=recorded.participants,
            outcome=recorded.outcome,
            notes=recorded.notes,
            held_at=recorded.held_at,
        )

    return step


def conclude_exit(agreement: ExitAgreement) -> Step:
    def step(case: Case, now: datetime) -> tuple[Case, EventData | None]:
        return case.conclude_exit(agreement, now), ExitAgreed(
            case_id=case.case_id, customer_id=case.customer_id, **asdict(agreement)
        )

    return step


def conclude_retention(outcome: RetentionOutcome) -> Step:
    def step(case: Case, now: datetime) -> tuple[Case, EventData | None]:
        return case.conclude_retention(outcome, now), CustomerRetained(
            case_id=case.case_id, customer_id=case.customer_id, **asdict(outcome)
        )

    return step
