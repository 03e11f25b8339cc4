"""Golden examples of the offboarding context: one dissolution case, plus a retained one."""

from __future__ import annotations

from crm_events.base import EventData
from crm_events.contacts import AccountOwnerChanged
from crm_events.examples._spec import COLLEAGUE, CUSTOMER, MANAGER, OWNER, Example
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    NegotiationRoundHeld,
    OffboardingCaseClosed,
    OffboardingCaseOpened,
    OffboardingCaseReassigned,
    PersonalDataErased,
    RelationshipEnded,
    RetentionOfferMade,
)

CASE = "obc-8001"

EXAMPLES: dict[type[EventData], Example] = {
    OffboardingCaseOpened: Example(
        time="2025-05-02T06:00:04Z",
        caused_by=RiskDetected,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "risk_id": "risk-8001",
            "category": "customer_performance",
            "reasons": ["payment 17 days overdue", "health score 35 below threshold 40"],
            "owner_id": MANAGER,
        },
    ),
    RetentionOfferMade: Example(
        time="2025-05-09T10:00:00Z",
        caused_by=OffboardingCaseOpened,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "offer": "Payment plan over three months and 10% off the next renewal.",
            "value_minor": 8900,
            "currency": "EUR",
            "valid_until": "2025-05-23T23:59:59Z",
            "made_by": MANAGER,
        },
    ),
    NegotiationRoundHeld: Example(
        time="2025-05-20T15:30:00Z",
        caused_by=RetentionOfferMade,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "round": 2,
            "channel": "meeting",
            "participants": [MANAGER, COLLEAGUE],
            "outcome": "agreement_reached",
            "notes": "Customer declined the offer; both sides agreed on an orderly exit.",
            "held_at": "2025-05-20T14:00:00Z",
        },
    ),
    ExitAgreed: Example(
        time="2025-05-27T11:00:00Z",
        caused_by=NegotiationRoundHeld,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "effective_date": "2025-06-30T23:59:59Z",
            "compensation_minor": 0,
            "currency": "EUR",
            "terms": "Outstanding invoices settled by instalments; no further deliveries.",
            "agreed_by": MANAGER,
            "follow_up_until": "2025-09-30T23:59:59Z",
        },
    ),
    CustomerRetained: Example(
        time="2025-04-18T09:30:00Z",
        data={
            "case_id": "obc-7002",
            "customer_id": "cus-1002",
            "offer_accepted": True,
            "retained_by": COLLEAGUE,
        },
    ),
    RelationshipEnded: Example(
        time="2025-06-30T23:59:59Z",
        caused_by=ExitAgreed,
        data={"case_id": CASE, "customer_id": CUSTOMER, "ended_at": "2025-06-30T23:59:59Z"},
    ),
    PersonalDataErased: Example(
        time="2025-07-01T02:00:00Z",
        caused_by=RelationshipEnded,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "service": "loyalty",
            "method": "anonymised",
            "legal_hold": True,
            "attested_at": "2025-07-01T02:00:00Z",
        },
    ),
    OffboardingCaseClosed: Example(
        time="2025-10-06T09:00:00Z",
        caused_by=PersonalDataErased,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "outcome": "exited",
            "lessons_learned": "Overdue payments were visible weeks earlier; alert sooner.",
            "closed_at": "2025-10-06T09:00:00Z",
        },
    ),
    OffboardingCaseReassigned: Example(
        time="2025-02-28T18:00:04Z",
        caused_by=AccountOwnerChanged,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "previous_owner_id": OWNER,
            "new_owner_id": COLLEAGUE,
            "reason": "employee_departed",
        },
    ),
}
