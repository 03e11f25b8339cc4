"""Golden examples of the loyalty context: ledger, tier, health and risk."""

from __future__ import annotations

from crm_events.base import EventData
from crm_events.examples._spec import CUSTOMER, Example, example_id
from crm_events.inbound import PaymentOverdue, PurchaseRecorded, PurchaseReturned
from crm_events.loyalty import (
    HealthScoreChanged,
    LoyaltyAccountSettled,
    PointsAwarded,
    PointsExpired,
    PointsExpiring,
    PointsRedeemed,
    PointsReversed,
    RiskDetected,
    TierChanged,
)
from crm_events.offboarding import RelationshipEnded

EXAMPLES: dict[type[EventData], Example] = {
    PointsAwarded: Example(
        time="2025-01-15T14:30:02Z",
        caused_by=PurchaseRecorded,
        data={
            "entry_id": f"earn-{example_id(PurchaseRecorded)}",
            "customer_id": CUSTOMER,
            "points": 130,
            "reason": "purchase",
            "source_event_id": example_id(PurchaseRecorded),
            "multiplier_percent": 100,
            "balance_after": 130,
            "expires_at": "2027-01-15T14:29:12Z",
            "rule_id": "purchase-points",
            "rulebook_version": 3,
            "rule_points": {"purchase-points": 130},
        },
    ),
    PointsRedeemed: Example(
        time="2025-01-25T12:00:00Z",
        data={
            "entry_id": "redeem-6001",
            "customer_id": CUSTOMER,
            "points": 50,
            "reward": "5 EUR voucher",
            "reference": "vch-6001",
            "balance_after": 80,
        },
    ),
    PointsReversed: Example(
        time="2025-01-29T09:10:02Z",
        caused_by=PurchaseReturned,
        data={
            "entry_id": f"reverse-{example_id(PurchaseReturned)}",
            "customer_id": CUSTOMER,
            "points": 50,
            "reversed_entry_id": f"earn-{example_id(PurchaseRecorded)}",
            "source_event_id": example_id(PurchaseReturned),
            "balance_after": 30,
        },
    ),
    PointsExpired: Example(
        time="2027-01-15T14:29:12Z",
        data={
            "entry_id": "expire-cus-1001-2027-01-15",
            "customer_id": CUSTOMER,
            "points": 30,
            "balance_after": 0,
            "expired_entry_ids": [f"earn-{example_id(PurchaseRecorded)}"],
        },
    ),
    PointsExpiring: Example(
        time="2026-12-16T14:29:12Z",
        data={
            "customer_id": CUSTOMER,
            "points": 30,
            "expires_at": "2027-01-15T14:29:12Z",
            "expiring_entry_ids": [f"earn-{example_id(PurchaseRecorded)}"],
            "balance": 30,
        },
    ),
    TierChanged: Example(
        time="2025-01-15T14:30:03Z",
        caused_by=PointsAwarded,
        data={
            "customer_id": CUSTOMER,
            "previous_tier": "basic",
            "new_tier": "silver",
            "qualifying_points": 130,
            "reason": "qualified",
            "qualification": "rolling_12_months",
            "period_start": "2024-02-01T00:00:00Z",
            "period_end": "2025-02-01T00:00:00Z",
            "required_points": 100,
            "next_review_at": "2026-01-15T14:30:03Z",
        },
    ),
    HealthScoreChanged: Example(
        time="2025-05-02T06:00:02Z",
        caused_by=PaymentOverdue,
        data={
            "customer_id": CUSTOMER,
            "score": 35,
            "previous_score": 62,
            "contributions": {
                "baseline": 50,
                "purchases": 15,
                "complaint_sla_breached": -10,
                "follow_up_overdue": -5,
                "payment_overdue": -15,
            },
        },
    ),
    RiskDetected: Example(
        time="2025-05-02T06:00:03Z",
        caused_by=PaymentOverdue,
        data={
            "customer_id": CUSTOMER,
            "risk_id": "risk-8001",
            "category": "customer_performance",
            "reasons": ["payment 17 days overdue", "health score 35 below threshold 40"],
            "score": 35,
            "hard_signal": PaymentOverdue.event_type(),
        },
    ),
    LoyaltyAccountSettled: Example(
        time="2025-06-30T23:59:59Z",
        caused_by=RelationshipEnded,
        data={
            "customer_id": CUSTOMER,
            "balance_points": 30,
            "settlement": "voucher",
            "amount_minor": 300,
            "currency": "EUR",
            "settled_at": "2025-06-30T23:59:59Z",
            "case_id": "obc-8001",
        },
    ),
}
