"""Insights' rules as pure decisions: (facts, observed event) → new facts, the journey entry
and the KPI contribution of the event. No I/O; the aggregate store applies each event to
its customer exactly once, and the entries follow that write (their ids are the event id).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from crm_events import deterministic_event_id
from crm_events.offboarding import PersonalDataErased
from crm_insights import counting, kpis, rules, translate
from crm_insights.domain import PERSONAL_FIELDS, CustomerFacts, KpiDelta, Observed, SubjectFacts
from crm_runtime.store import Decision

SERVICE = "insights"  # as offboarding's DISPOSAL_SERVICES names it


@dataclass(frozen=True)
class ErasureRequest:
    """Offboarding's request to dispose of one customer's personal data."""

    event_id: str
    correlation_id: str
    customer_id: str
    case_id: str


def observe(state: CustomerFacts | None, fact: Observed) -> Decision[CustomerFacts]:
    after, changes = rules.evolve(state, fact)
    if after.erased:  # a late event about an erased customer keeps no personal data
        fact = replace(fact, data=without_personal_data(fact.data))
        after = replace(after, name=None)
    entry = translate.journey_entry(fact, erased=after.erased)
    return Decision(
        after,
        entries=[entry, KpiDelta(fact.event_id, kpis.increments(changes))],
        due=after.erasure_requested_at,  # a pending disposal stays due
    )


def observe_subject(state: SubjectFacts | None, fact: Observed) -> Decision[SubjectFacts]:
    current = state or SubjectFacts(subject_id=fact.subject)
    changes = counting.subject_changes(fact)
    return Decision(
        replace(current, events=current.events + 1),
        entries=[
            translate.journey_entry(fact),
            KpiDelta(fact.event_id, kpis.increments(changes)),
        ],
    )


def erase(
    state: CustomerFacts | None, request: ErasureRequest, *, now: datetime
) -> Decision[CustomerFacts]:
    """Data disposal: the customer's name goes at once, later events are stored without
    personal fields, counted facts stay. Stripping the journey and attesting wait for the
    sweeper (``strip`` then ``attest``): entries staged in this poll are not stored yet."""
    current = state or CustomerFacts(customer_id=request.customer_id)
    pending = replace(
        current,
        name=None,
        erased=True,
        erasure_request=request.event_id,
        erasure_case=request.case_id,
        erasure_correlation=request.correlation_id,
        erasure_requested_at=now,
    )
    return Decision(pending, due=now)


def strip(state: CustomerFacts | None) -> Decision[CustomerFacts]:
    """Before the journey is stripped: one write on the aggregate, which first stores any
    entries an earlier write still carries, so the strip that follows sees them all."""
    if state is None or state.erasure_request is None:
        return Decision()
    return Decision(state, due=state.erasure_requested_at)


def attest(state: CustomerFacts | None, *, now: datetime, source: str) -> Decision[CustomerFacts]:
    """The journey is stripped: ``PersonalDataErased`` (service ``insights``) leaves with
    the write that ends the pending disposal."""
    if state is None or state.erasure_request is None or state.erasure_case is None:
        return Decision()
    request = state.erasure_request
    attestation = PersonalDataErased(
        case_id=state.erasure_case,
        customer_id=state.customer_id,
        service=SERVICE,
        method="anonymised",
        legal_hold=False,
        attested_at=now,
        erased_fields=["name", "journey.personal_fields"],
    ).to_event(
        source=source,
        event_id=deterministic_event_id(request, SERVICE, "attested"),
        time=now,
        correlation_id=state.erasure_correlation or request,
        causation_id=request,
    )
    done = replace(
        state,
        erasure_request=None,
        erasure_case=None,
        erasure_correlation=None,
        erasure_requested_at=None,
    )
    return Decision(done, publish=[attestation])


def without_personal_data(data: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in data.items() if k not in PERSONAL_FIELDS}
