"""Golden examples of the offboarding context: one dissolution case, plus a retained one."""

from __future__ import annotations

from crm_events.base import EventData
from crm_events.contacts import AccountOwnerChanged
from crm_events.examples._spec import COLLEAGUE, CUSTOMER, MANAGER, OWNER, Example
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    LegalHoldPlaced,
    LegalHoldReleased,
    NegotiationRoundHeld,
    OffboardingCaseClosed,
    OffboardingCaseOpened,
    OffboardingCaseReassigned,
    PersonalDataErased,
    PersonalDataErasureRequested,
    PersonalDataExportDelivered,
    PersonalDataExported,
    PersonalDataExportRequested,
    RelationshipEnded,
    RetentionOfferExpired,
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
            "erased_fields": ["name", "email", "phone", "address", "ledger.notes"],
            "records": 42,
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
            "root_causes": ["customer_performance"],
            "preventable": True,
            "late_signals": ["crm.inbound.payment-overdue.v1"],
            "changes": ["raise the payment-overdue weight", "call after the first reminder"],
        },
    ),
    PersonalDataErasureRequested: Example(
        time="2025-07-01T00:00:00Z",
        caused_by=RelationshipEnded,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "requested_at": "2025-07-01T00:00:00Z",
            "services": ["contacts", "feedback", "loyalty", "offboarding"],
            "attest_by": "2025-07-08T00:00:00Z",
        },
    ),
    RetentionOfferExpired: Example(
        time="2025-05-24T00:00:00Z",
        caused_by=RetentionOfferMade,
        data={"case_id": CASE, "customer_id": CUSTOMER, "valid_until": "2025-05-23T23:59:59Z"},
    ),
    LegalHoldPlaced: Example(
        time="2025-06-15T08:00:00Z",
        caused_by=ExitAgreed,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "hold_id": "hold-1",
            "reason": "pending litigation about the last delivery",
            "placed_by": MANAGER,
            "until": "2025-12-31T23:59:59Z",
        },
    ),
    LegalHoldReleased: Example(
        time="2025-06-20T08:00:00Z",
        caused_by=LegalHoldPlaced,
        data={
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "hold_id": "hold-1",
            "released_by": MANAGER,
        },
    ),
    PersonalDataExportRequested: Example(
        time="2025-06-05T09:00:00Z",
        caused_by=ExitAgreed,
        data={
            "export_id": "exp-8001",
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "services": ["contacts", "feedback", "loyalty", "offboarding"],
            "requested_by": MANAGER,
        },
    ),
    PersonalDataExported: Example(
        time="2025-06-05T09:00:02Z",
        caused_by=PersonalDataExportRequested,
        data={
            "export_id": "exp-8001",
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "service": "contacts",
            "section_version": "contacts.export.v1",
            "section": '{"customer": {"display_name": "Example Customer", '
            '"email": "buyer@example.com"}, "timeline": [{"kind": "contact", '
            '"summary": "Asked about the final invoice"}]}',
            "exported_at": "2025-06-05T09:00:02Z",
        },
    ),
    PersonalDataExportDelivered: Example(
        time="2025-06-05T09:00:05Z",
        caused_by=PersonalDataExported,
        data={
            "export_id": "exp-8001",
            "case_id": CASE,
            "customer_id": CUSTOMER,
            "services": ["contacts", "feedback", "loyalty", "offboarding"],
            "delivered_at": "2025-06-05T09:00:05Z",
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
