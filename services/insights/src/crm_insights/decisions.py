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
    return Decision(after, entries=[entry, KpiDelta(fact.event_id, kpis.increments(changes))])


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
    state: CustomerFacts | None, request: ErasureRequest, *, now: datetime, source: str
) -> Decision[CustomerFacts]:
    """Data disposal: the customer's name goes; its counted facts stay (no personal data).
    The journey's stored payloads are stripped by the read models (``codec``); the
    attestation (``PersonalDataErased``, service ``insights``) leaves with the state."""
    current = state or CustomerFacts(customer_id=request.customer_id)
    attestation = PersonalDataErased(
        case_id=request.case_id,
        customer_id=request.customer_id,
        service=SERVICE,
        method="anonymised",
        legal_hold=False,
        attested_at=now,
        erased_fields=["name", "journey.personal_fields"],
    ).to_event(
        source=source,
        event_id=deterministic_event_id(request.event_id, SERVICE, "attested"),
        time=now,
        correlation_id=request.correlation_id,
        causation_id=request.event_id,
    )
    return Decision(replace(current, name=None, erased=True), publish=[attestation])


def without_personal_data(data: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in data.items() if k not in PERSONAL_FIELDS}
