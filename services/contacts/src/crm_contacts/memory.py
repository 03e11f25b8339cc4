"""The timeline as the company's memory (issue 8): what other services did with the
customer — complaints raised, breached, resolved and moved, risks detected, cases opened,
negotiated and moved — lands on the customer's timeline, so the next owner sees the whole
relationship. Entries carry ids, codes and counts, never free text (the timeline is read
widely; the complaint's words stay in feedback).

A moved complaint or case whose account moved because its owner left is also counted on
that employee's departure record (``handed_over.feedback`` / ``.offboarding``): the seed's
"information retained on staff departure", per service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from crm_contacts import domain
from crm_contacts.decisions import _known
from crm_contacts.domain import Customer, Departure, TimelineEntry
from crm_contacts.service import ContactsService
from crm_events import CloudEvent, EventData
from crm_events.feedback import (
    ComplaintRaised,
    ComplaintReassigned,
    ComplaintResolved,
    ComplaintSlaBreached,
)
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import (
    NegotiationRoundHeld,
    OffboardingCaseOpened,
    OffboardingCaseReassigned,
)
from crm_runtime.app import ServiceRuntime
from crm_runtime.errors import MissingPrerequisite
from crm_runtime.store import Decision

Details = Callable[[Any], dict[str, Any]]
# Consumed type → (timeline kind, the details worth remembering — no free text).
REMEMBERED: dict[type[EventData], tuple[str, Details]] = {
    ComplaintRaised: (
        "complaint-raised",
        lambda d: {
            "complaint_id": d.complaint_id,
            "severity": d.severity.value,
            "owner_id": d.owner_id,
        },
    ),
    ComplaintSlaBreached: (
        "complaint-sla-breached",
        lambda d: {"complaint_id": d.complaint_id, "clock": d.clock},
    ),
    ComplaintResolved: (
        "complaint-resolved",
        lambda d: {"complaint_id": d.complaint_id, "within_sla": d.within_sla},
    ),
    ComplaintReassigned: (
        "complaint-reassigned",
        lambda d: {
            "complaint_id": d.complaint_id,
            "new_owner_id": d.new_owner_id,
            "reason": d.reason,
        },
    ),
    RiskDetected: (
        "risk-detected",
        lambda d: {"risk_id": d.risk_id, "category": d.category.value, "score": d.score},
    ),
    OffboardingCaseOpened: (
        "case-opened",
        lambda d: {"case_id": d.case_id, "category": d.category.value},
    ),
    NegotiationRoundHeld: (
        "case-negotiation",
        lambda d: {"case_id": d.case_id, "outcome": d.outcome},
    ),
    OffboardingCaseReassigned: (
        "case-reassigned",
        lambda d: {"case_id": d.case_id, "new_owner_id": d.new_owner_id, "reason": d.reason},
    ),
}
HANDED_OVER: dict[type[EventData], str] = {
    ComplaintReassigned: "feedback",
    OffboardingCaseReassigned: "offboarding",
}


def remember(state: Customer | None, entry: TimelineEntry) -> Decision[Customer]:
    _known(state, entry.customer_id, entry.kind)
    return Decision(entries=[entry])


def count_handed_over(state: Departure | None, service: str, employee: str) -> Decision[Departure]:
    if state is None:
        raise MissingPrerequisite(f"hand-over counted for employee {employee} not yet departed")
    counts = {**state.handed_over, service: state.handed_over.get(service, 0) + 1}
    return Decision(replace(state, handed_over=counts))


def register_memory(runtime: ServiceRuntime, service: ContactsService) -> None:
    customer = (service.customers, lambda data: data.customer_id)
    for model, (kind, details) in REMEMBERED.items():
        runtime.on(
            model, _remembering(service, kind, details, HANDED_OVER.get(model)), aggregate=customer
        )


def _remembering(
    service: ContactsService, kind: str, details: Details, counted_in: str | None
) -> Callable[[Any, CloudEvent], Any]:
    async def handle(data: Any, event: CloudEvent) -> bool:
        entry = domain.lifecycle_entry(event.id, data.customer_id, kind, event.time, details(data))
        if counted_in is not None and data.reason == "employee_departed":
            await _count(service, counted_in, data.previous_owner_id, event.id)
        applied = await service.customers.apply(
            data.customer_id, event.id, lambda s: remember(s, entry)
        )
        return applied.applied

    return handle


async def _count(service: ContactsService, counted_in: str, employee: str, event_id: str) -> None:
    store = service.departures.store
    await store.apply(employee, event_id, lambda s: count_handed_over(s, counted_in, employee))
