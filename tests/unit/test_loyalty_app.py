"""The loyalty wiring (``create_app``) over the in-memory store: the consumed topics reach
their use cases, and the inactivity sweeper runs over the accounts' due dates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_events.contacts import CustomerRegistered
from crm_events.inbound import PurchaseRecorded
from tests.unit.loyalty_plugin import LoyaltyApp, golden

pytestmark = pytest.mark.unit


async def test_consumed_facts_apply_once_and_inactivity_is_swept(loyalty_app: LoyaltyApp) -> None:
    clock = loyalty_app.clock
    registered = golden(CustomerRegistered)
    bought = golden(PurchaseRecorded, amount_minor=2_000, purchased_at=clock.now().isoformat())
    registration = registered.to_event(source="/test", event_id="reg-1", time=clock.now())
    purchase = bought.to_event(source="/test", event_id="buy-1", time=clock.now())

    assert await loyalty_app.deliver(purchase) == "parked"
    assert await loyalty_app.deliver(registration) == "applied"
    assert await loyalty_app.deliver(purchase) == "applied"
    assert await loyalty_app.deliver(purchase) == "duplicate"

    account = await loyalty_app.points.account("cus-1")
    assert (account.balance, account.score) == (20, 73)
    assert account.next_due_at == clock.now() + timedelta(days=60)

    clock.advance(timedelta(days=61))
    await loyalty_app.sweep()
    await loyalty_app.sweep()  # nothing due any more

    swept = await loyalty_app.points.account("cus-1")
    inactivity = [c for c in swept.contributions.values() if c.code == "inactivity"]
    assert [c.delta for c in inactivity] == [-10]
    assert swept.next_due_at == account.next_due_at + timedelta(days=60)
