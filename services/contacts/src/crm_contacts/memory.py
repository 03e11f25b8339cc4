"""The timeline as the company's memory (issue 8): what other services did with the
customer — complaints raised, breached, resolved and moved, risks detected, cases opened,
negotiated and moved — lands on the customer's timeline, so the next owner sees the whole
relationship. Entries carry ids, codes and counts, never free text (the timeline is read
widely; the complaint's words stay in feedback).

A moved complaint or case whose account moved because its owner left is also kept as a
hand-over entry (``handovers``, keyed by the event) that the departure record counts per
service: the seed's "information retained on staff departure". Entries, not a counter on
the departure: these facts are keyed by customer, and many of one poll name the same
employee — an insert per fact cannot lose one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm_contacts import domain
from crm_contacts.decisions import _known
from crm_contacts.domain import Customer, Handover
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


def remember(state: Customer | None, entries: list[Any]) -> Decision[Customer]:
    _known(state, entries[0].customer_id, entries[0].kind)
    return Decision(entries=entries)


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
        entries: list[Any] = [entry]
        if counted_in is not None and data.reason == "employee_departed":
            moved = Handover(
                event.id, data.previous_owner_id, counted_in, data.customer_id, event.time
            )
            entries.append(moved)
        decide = lambda s: remember(s, entries)  # noqa: E731
        return (await service.customers.apply(data.customer_id, event.id, decide)).applied

    return handle
