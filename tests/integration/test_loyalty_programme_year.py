"""A year of one member, compressed with the service's clock, through the real wire
protocols only (Kafka in and out, HTTP, MongoDB): earn, a cap, a return, a birthday, a
goodwill grant, a redemption, the expiry warning and the expiry, the tier review and the
downgrade after the grace window.

Run in one process on a manual clock: the services' separate processes (tests/e2e) run on
the system clock, and a year cannot pass there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.inbound import PurchaseRecorded, PurchaseReturned
from crm_events.loyalty import PointsAwarded, PointsExpired, PointsExpiring, TierChanged
from crm_loyalty.app import create_app
from crm_loyalty.settings import LoyaltySettings
from crm_runtime.clock import ManualClock
from tests.integration.loyalty_fixtures import (
    START,
    account_when,
    golden_bytes,
    outbox_drained,
    payloads,
    read_topics,
    send,
)
from tests.support import AGENT, MANAGER, Kafka, serving

pytestmark = pytest.mark.integration
BOOK = {
    "rules": [
        {
            "id": "purchase-points",
            "description": "1 point per EUR",
            "trigger": "purchase_recorded",
            "action": {"kind": "per_currency_unit", "points": 1},
        },
        {
            "id": "contact-points",
            "description": "10 points per contact, 20 a month at most",
            "trigger": "contact_logged",
            "action": {"kind": "fixed", "points": 10},
            "cap": {"points": 20, "period": "month"},
        },
        {
            "id": "birthday-gift",
            "description": "200 points on the birthday",
            "trigger": "birthday",
            "action": {"kind": "fixed", "points": 200},
            "qualifying": False,
        },
    ]
}


def at(days: int) -> datetime:
    return START + timedelta(days=days)


async def test_a_year_of_earning_capping_redeeming_expiring_and_requalifying(
    make_settings: Callable[..., Any], kafka: Kafka, ns: str, mongo: Any, infra: Any
) -> None:
    settings: LoyaltySettings = make_settings(
        LoyaltySettings,
        expiry_policy="fixed",
        expiry_months=6,
        expiry_warning_days=14,
        tier_qualification="rolling_12_months",
        tier_grace_days=30,
    )
    clock = ManualClock(START)
    async with serving(create_app(settings, clock=clock)) as client:
        assert (await client.put("/rules", json=BOOK, headers=MANAGER)).status_code == 200
        born = golden_bytes(CustomerRegistered, "reg-1", date_of_birth="1990-05-20")
        await send(kafka, ns, CustomerRegistered, born)
        await account_when(client, "cus-1001", lambda a: True)

        # Day 0: a purchase of 1,200 EUR (silver at once) and three contacts (the cap bites).
        bought = golden_bytes(
            PurchaseRecorded, "buy-1", amount_minor=120_000, purchased_at=START.isoformat()
        )
        await send(kafka, ns, PurchaseRecorded, bought)
        await account_when(client, "cus-1001", lambda a: a["tier"] == "silver")
        for n in range(3):  # silver: 12 points each, 20 a month
            moment = (START + timedelta(minutes=n)).isoformat()
            contact = golden_bytes(ContactLogged, f"contact-{n}", occurred_at=moment)
            await send(kafka, ns, ContactLogged, contact)
        account = await account_when(client, "cus-1001", lambda a: a["balance"] == 1_220)
        assert account["tier"] == "silver"
        assert [(c["scope"], c["used"], c["limit"]) for c in account["caps"]] == [
            ("rule-contact-points", 20, 20)
        ]

        # Day 1: half the order comes back (the tier waits for its review).
        clock.set(at(1))
        returned = golden_bytes(
            PurchaseReturned, "ret-1", amount_minor=50_000, returned_at=at(1).isoformat()
        )
        await send(kafka, ns, PurchaseReturned, returned)
        await account_when(client, "cus-1001", lambda a: a["balance"] == 720)

        # 20 May: the birthday gift (silver: 125 %), then a goodwill grant and a redemption.
        clock.set(datetime(2025, 5, 20, 0, 1, tzinfo=UTC))
        await account_when(client, "cus-1001", lambda a: a["balance"] == 970)
        grant = {"points": 100, "reason": "late delivery", "reference": "cmp-1"}
        headers = {**MANAGER, "Idempotency-Key": "gw-1"}
        granted = await client.post("/accounts/cus-1001/adjustments", json=grant, headers=headers)
        assert (granted.status_code, granted.json()["balance"]) == (201, 1_070)
        spend = {"points": 600, "reward": "voucher"}
        spent = await client.post("/accounts/cus-1001/redemptions", json=spend, headers=AGENT)
        assert (spent.status_code, spent.json()["balance"]) == (201, 470)

        # 14 days before day 0 + 6 months: the warning; on the date: the expiry of what is
        # left of the oldest lots (100 of the purchase, the 20 contact points).
        first_expiry = datetime(2025, 9, 10, 9, 0, tzinfo=UTC)
        clock.set(first_expiry - timedelta(days=14))
        await account_when(
            client, "cus-1001", lambda a: a["lots"][0]["warned_for"] == "2025-09-10T09:00:00Z"
        )
        clock.set(first_expiry)
        await account_when(client, "cus-1001", lambda a: a["balance"] == 350)

        # Day 365: the review finds 730 qualifying points (< 1,000): silver until the grace
        # window ends, then bronze. The birthday and goodwill lots expired in November.
        clock.set(at(365))
        await account_when(client, "cus-1001", lambda a: a["balance"] == 0)
        assert (await client.get("/accounts/cus-1001", headers=AGENT)).json()["tier"] == "silver"
        clock.set(at(365 + 31))
        await account_when(client, "cus-1001", lambda a: a["tier"] == "bronze")
        await outbox_drained(mongo, settings)

    topics = [ns + m.topic() for m in (PointsAwarded, PointsExpiring, PointsExpired, TierChanged)]
    found = await read_topics(infra.kafka_bootstrap, topics, expected=11)
    awarded, expiring, expired, tiers = (payloads(found[t]) for t in topics)
    assert sorted((a["reason"], a["points"]) for a in awarded) == [
        ("birthday", 250),
        ("contact", 8),
        ("contact", 12),
        ("goodwill", 100),
        ("purchase", 1_200),
    ]
    assert [(w["points"], w["expires_at"]) for w in expiring] == [(120, "2025-09-10T09:00:00Z")]
    assert [e["points"] for e in expired] == [120, 350]
    assert [(t["new_tier"], t["reason"]) for t in tiers] == [
        ("bronze", "enrolled"),
        ("silver", "qualified"),
        ("bronze", "downgraded"),
    ]
    # 1,200 bought - 500 returned + 3 contacts (caps withhold points, not qualification)
    assert (tiers[-1]["qualifying_points"], tiers[-1]["period_start"]) == (
        730,
        "2025-03-01T00:00:00Z",
    )
