"""Golden examples of facts other company systems publish into the CRM."""

from __future__ import annotations

from crm_events.base import EventData
from crm_events.examples._spec import COLLEAGUE, CUSTOMER, OWNER, Example
from crm_events.inbound import (
    ContractBreached,
    CustomerDeprioritised,
    CustomerReplied,
    EmployeeDeparted,
    LegalHoldLifted,
    LegalHoldOrdered,
    PaymentOverdue,
    PurchaseRecorded,
    PurchaseReturned,
    ReferralRecorded,
    RegulationChanged,
)

EXAMPLES: dict[type[EventData], Example] = {
    PurchaseRecorded: Example(
        time="2025-01-15T14:30:00Z",
        source="/erp/orders",
        data={
            "order_id": "ord-50001",
            "customer_id": CUSTOMER,
            "amount_minor": 12990,
            "currency": "EUR",
            "purchased_at": "2025-01-15T14:29:12Z",
            "items_count": 3,
        },
    ),
    PurchaseReturned: Example(
        time="2025-01-29T09:10:00Z",
        source="/erp/orders",
        data={
            "order_id": "ord-50001",
            "return_id": "ret-7001",
            "customer_id": CUSTOMER,
            "amount_minor": 4990,
            "currency": "EUR",
            "returned_at": "2025-01-29T09:05:00Z",
        },
    ),
    EmployeeDeparted: Example(
        time="2025-02-28T18:00:00Z",
        source="/hr/personnel",
        data={
            "employee_id": OWNER,
            "departed_at": "2025-02-28T17:00:00Z",
            "successor_id": COLLEAGUE,
        },
    ),
    PaymentOverdue: Example(
        time="2025-05-02T06:00:00Z",
        source="/finance/receivables",
        data={
            "invoice_id": "inv-2025-0415",
            "customer_id": CUSTOMER,
            "amount_minor": 89000,
            "currency": "EUR",
            "due_date": "2025-04-15T23:59:59Z",
            "days_overdue": 17,
        },
    ),
    ContractBreached: Example(
        time="2025-05-06T08:30:00Z",
        source="/legal/contracts",
        data={
            "contract_id": "ctr-2024-118",
            "customer_id": CUSTOMER,
            "clause": "7.2 payment terms",
            "description": "Second invoice in a row unpaid beyond the agreed 30 days.",
            "detected_at": "2025-05-06T08:00:00Z",
        },
    ),
    CustomerReplied: Example(
        time="2025-03-04T11:05:00Z",
        source="/messaging/inbox",
        data={
            "reply_id": "msg-88120",
            "customer_id": CUSTOMER,
            "complaint_id": "cmp-3001",
            "kind": "answer",
            "channel": "email",
            "replied_at": "2025-03-04T11:04:40Z",
        },
    ),
    CustomerDeprioritised: Example(
        time="2025-04-01T08:00:00Z",
        source="/strategy/portfolio",
        data={
            "change_id": "chg-2025-07",
            "customer_id": CUSTOMER,
            "scope": "product_line",
            "target": "legacy on-premise hardware",
            "reason": "portfolio moves to cloud services",
            "effective_at": "2025-10-01T00:00:00Z",
        },
    ),
    RegulationChanged: Example(
        time="2025-04-02T08:00:00Z",
        source="/legal/register",
        data={
            "regulation_id": "reg-eu-2025-114",
            "customer_id": CUSTOMER,
            "jurisdiction": "EU",
            "segment": "public sector",
            "summary": "data must be hosted in the customer's member state",
            "effective_at": "2026-01-01T00:00:00Z",
        },
    ),
    LegalHoldOrdered: Example(
        time="2025-06-10T08:00:00Z",
        source="/legal/matters",
        data={
            "matter_id": "matter-2025-031",
            "customer_id": CUSTOMER,
            "reason": "dispute over the last delivery",
            "ordered_by": COLLEAGUE,
            "until": "2026-06-30T00:00:00Z",
        },
    ),
    LegalHoldLifted: Example(
        time="2025-09-01T08:00:00Z",
        source="/legal/matters",
        data={"matter_id": "matter-2025-031", "customer_id": CUSTOMER, "lifted_by": COLLEAGUE},
    ),
    ReferralRecorded: Example(
        time="2025-03-05T10:00:00Z",
        source="/marketing/referrals",
        data={
            "referral_id": "ref-3001",
            "customer_id": CUSTOMER,
            "referred_customer_id": "cus-1002",
            "channel": "link",
            "recorded_at": "2025-03-05T09:58:00Z",
        },
    ),
}
