"""Expiry through the account's one due date: PointsExpiring a configured number of days
before, PointsExpired on the date with its ledger line; redemptions take the oldest lots
first, so what expires is what was left; the activity policy moves every date."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from crm_events.loyalty import HealthScoreChanged, PointsAwarded, PointsExpired, PointsExpiring
from crm_loyalty.rules import EarningRules, ExpiryPolicy, Rules, add_months
from tests.unit.loyalty_plugin import NOW, Loyalty

pytestmark = pytest.mark.unit


def with_expiry(kind: str, months: int = 3, warning_days: int = 10) -> Loyalty:
    policy = ExpiryPolicy(kind, months=months, warning_days=warning_days)  # type: ignore[arg-type]
    return Loyalty(rules=Rules(earning=replace(EarningRules(), expiry=policy)))


async def at(loyalty: Loyalty, moment: object) -> None:
    loyalty.clock.set(moment)  # type: ignore[arg-type]
    await loyalty.sweep()


async def test_fixed_expiry_warns_then_expires_what_was_not_redeemed() -> None:
    loyalty = with_expiry("fixed")
    await loyalty.register()
    await loyalty.purchase(10_000, order="ord-1", purchased_at=NOW.isoformat())
    loyalty.clock.set(NOW + timedelta(days=30))
    await loyalty.purchase(5_000, order="ord-2", purchased_at=loyalty.clock.now().isoformat())
    await loyalty.redeem(60)  # from the first lot (the oldest)

    first_expiry = add_months(NOW, 3)
    awarded = loyalty.published(PointsAwarded)
    assert awarded[0]["expires_at"] == first_expiry.isoformat().replace("+00:00", "Z")
    assert (await loyalty.account()).next_due_at == first_expiry - timedelta(days=10)

    await at(loyalty, first_expiry - timedelta(days=10))
    warning = loyalty.published(PointsExpiring)
    assert [(w["points"], w["expiring_entry_ids"]) for w in warning] == [(40, ["earn:buy-ord-1"])]
    assert await loyalty.sweep() is False  # warned once per date

    await at(loyalty, first_expiry)
    expired = loyalty.published(PointsExpired)
    assert [(e["points"], e["balance_after"]) for e in expired] == [(40, 50)]
    entry = loyalty.entries[expired[0]["entry_id"]]
    assert (entry.kind, entry.delta, entry.state) == ("expire", -40, "posted")
    account = await loyalty.account()
    assert (account.balance, sum(lot.remaining for lot in account.lots.values())) == (50, 50)


async def test_nothing_expires_once_everything_was_redeemed() -> None:
    loyalty = with_expiry("fixed")
    await loyalty.register()
    await loyalty.purchase(10_000, purchased_at=NOW.isoformat())
    await loyalty.redeem(100)

    await at(loyalty, add_months(NOW, 3) + timedelta(days=1))
    assert loyalty.published(PointsExpired) == []
    assert loyalty.published(PointsExpiring) == []


async def test_activity_expiry_is_postponed_by_each_qualifying_activity() -> None:
    loyalty = with_expiry("activity", months=2, warning_days=7)
    await loyalty.register()
    await loyalty.purchase(10_000, order="ord-1", purchased_at=NOW.isoformat())
    loyalty.clock.set(NOW + timedelta(days=45))
    await loyalty.purchase(2_000, order="ord-2", purchased_at=loyalty.clock.now().isoformat())
    whole_balance = add_months(NOW + timedelta(days=45), 2)

    await at(loyalty, add_months(NOW, 2) + timedelta(days=1))  # the first lot's old date
    assert loyalty.published(PointsExpired) == []
    await at(loyalty, whole_balance - timedelta(days=7))
    assert [w["points"] for w in loyalty.published(PointsExpiring)] == [120]
    await at(loyalty, whole_balance)
    expired = loyalty.published(PointsExpired)
    assert [(e["points"], sorted(e["expired_entry_ids"])) for e in expired] == [
        (120, ["earn:buy-ord-1", "earn:buy-ord-2"])
    ]
    assert len(loyalty.published(PointsExpiring)) == 1


async def test_expiry_and_inactivity_share_the_accounts_one_due_date() -> None:
    loyalty = with_expiry("fixed", months=1, warning_days=0)
    await loyalty.register()
    await loyalty.purchase(10_000, purchased_at=NOW.isoformat())
    account = await loyalty.account()
    assert account.next_due_at == add_months(NOW, 1) < account.inactivity_due_at  # type: ignore[operator]

    await at(loyalty, add_months(NOW, 1))
    assert len(loyalty.published(PointsExpired)) == 1
    assert loyalty.published(HealthScoreChanged)[-1]["score"] == 73  # no inactivity yet
    await at(loyalty, NOW + timedelta(days=60))
    assert loyalty.published(HealthScoreChanged)[-1]["score"] == 63  # inactivity
    assert (await loyalty.account()).next_due_at == NOW + timedelta(days=120)


async def test_settlement_stops_expiry() -> None:
    loyalty = with_expiry("fixed")
    await loyalty.register()
    await loyalty.purchase(10_000, purchased_at=NOW.isoformat())
    await loyalty.exit()
    account = await loyalty.account()
    assert (account.lots, account.next_due_at) == ({}, None)
