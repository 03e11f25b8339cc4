"""Loyalty points over the in-memory aggregate store: earn, reverse, redeem, settle — in ms."""

from __future__ import annotations

import pytest

from crm_events.contacts import CustomerRegistered
from crm_events.inbound import PurchaseRecorded, PurchaseReturned
from crm_events.loyalty import (
    PointsAwarded,
    PointsRedeemed,
    PointsReversed,
    TierChanged,
)
from crm_loyalty.service import Redemption
from crm_runtime.errors import Conflict, DomainError, MissingPrerequisite, NotFound, Unprocessable
from tests.store_memory import SimulatedCrash
from tests.unit.loyalty_plugin import Loyalty, golden

pytestmark = pytest.mark.unit


# --- accounts ------------------------------------------------------------------------------
async def test_registration_opens_a_bronze_account_once(loyalty: Loyalty) -> None:
    await loyalty.register()
    data = golden(CustomerRegistered)
    again = await loyalty.points.on_customer_registered(data, loyalty.event(data, "reg-cus-1"))

    account = await loyalty.account()
    assert (account.status, account.tier, account.balance, account.score) == (
        "open",
        "bronze",
        0,
        70,
    )
    assert again is False
    assert loyalty.published(TierChanged) == [
        {
            "customer_id": "cus-1",
            "new_tier": "bronze",
            "qualifying_points": 0,
            "reason": "enrolled",
            "qualification": "lifetime",
            "required_points": 0,
        }
    ]


# --- earning -------------------------------------------------------------------------------
async def test_purchase_earns_one_point_per_currency_unit_once(loyalty: Loyalty) -> None:
    await loyalty.register()

    first = await loyalty.purchase(12_990)
    second = await loyalty.purchase(12_990)

    assert (first, second) == (True, False)
    assert (await loyalty.account()).balance == 129
    [awarded] = loyalty.published(PointsAwarded)
    assert awarded["points"] == 129
    assert awarded["balance_after"] == 129
    assert awarded["multiplier_percent"] == 100
    assert awarded["entry_id"] == "earn:buy-ord-1"
    assert loyalty.entries["earn:buy-ord-1"].state == "posted"


async def test_qualifying_for_a_tier_changes_the_multiplier(loyalty: Loyalty) -> None:
    await loyalty.register()

    await loyalty.purchase(100_000, order="ord-1")  # 1000 qualifying points: silver
    await loyalty.purchase(10_000, order="ord-2")  # 100 base points x 125 %

    account = await loyalty.account()
    assert account.tier == "silver"
    assert account.qualifying_points == 1100
    assert account.balance == 1000 + 125
    changes = loyalty.published(TierChanged)
    assert changes[-1]["previous_tier"] == "bronze"
    assert changes[-1]["new_tier"] == "silver"
    assert changes[-1]["reason"] == "qualified"
    assert loyalty.published(PointsAwarded)[-1]["multiplier_percent"] == 125


async def test_purchase_before_registration_waits(loyalty: Loyalty) -> None:
    with pytest.raises(MissingPrerequisite, match="unknown account cus-1"):
        await loyalty.purchase(1000)


async def test_the_same_order_under_another_event_id_is_rejected(loyalty: Loyalty) -> None:
    await loyalty.register()
    await loyalty.purchase(1000)
    data = golden(PurchaseRecorded, amount_minor=1000, order_id="ord-1")

    with pytest.raises(Unprocessable, match="already recorded"):
        await loyalty.points.on_purchase_recorded(data, loyalty.event(data, "another-id"))


async def test_purchase_in_another_currency_is_recorded_as_ignored(loyalty: Loyalty) -> None:
    await loyalty.register()

    assert await loyalty.purchase(5000, currency="USD") is True

    entry = loyalty.entries["earn:buy-ord-1"]
    assert (entry.state, entry.points) == ("ignored", 0)
    assert "USD" in (entry.note or "")
    assert loyalty.published(PointsAwarded) == []


# --- reversal ------------------------------------------------------------------------------
async def test_returns_reverse_proportionally_and_completely(loyalty: Loyalty) -> None:
    await loyalty.register()
    await loyalty.purchase(9_999)  # 99 points

    await loyalty.return_(3_333, ret="ret-1")
    duplicate = await loyalty.return_(3_333, ret="ret-1")
    await loyalty.return_(6_666, ret="ret-2")

    reversed_ = loyalty.published(PointsReversed)
    assert duplicate is False
    assert [r["points"] for r in reversed_] == [33, 66]
    assert reversed_[0]["reversed_entry_id"] == "earn:buy-ord-1"
    assert reversed_[1]["balance_after"] == 0
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points) == (0, 0)


async def test_return_of_spent_points_leaves_a_negative_balance(loyalty: Loyalty) -> None:
    await loyalty.register()
    await loyalty.purchase(10_000)
    await loyalty.redeem(80)

    await loyalty.return_(10_000)
    await loyalty.purchase(5_000, order="ord-2")

    assert loyalty.published(PointsReversed)[0]["balance_after"] == -80
    # Points owed are not "available": the award reports an available balance of 0.
    assert loyalty.published(PointsAwarded)[-1]["balance_after"] == 0
    assert (await loyalty.account()).balance == -30
    with pytest.raises(DomainError, match="insufficient balance: 0 points available"):
        await loyalty.redeem(1, key="k-2")


async def test_return_can_downgrade_the_tier(loyalty: Loyalty) -> None:
    await loyalty.register()
    await loyalty.purchase(150_000)

    await loyalty.return_(100_000)

    account = await loyalty.account()
    assert (account.tier, account.qualifying_points) == ("bronze", 500)
    assert loyalty.published(TierChanged)[-1]["reason"] == "downgraded"


async def test_returns_that_can_never_apply_are_rejected(loyalty: Loyalty) -> None:
    await loyalty.register()
    await loyalty.purchase(10_000)
    await loyalty.return_(2_000, ret="ret-1")
    again = golden(PurchaseReturned, amount_minor=2_000, order_id="ord-1", return_id="ret-1")
    dollars = golden(PurchaseReturned, amount_minor=2_000, order_id="ord-1", currency="USD")

    with pytest.raises(Unprocessable, match="return ret-1 was already recorded by event"):
        await loyalty.points.on_purchase_returned(again, loyalty.event(again, "another-id"))
    with pytest.raises(Unprocessable, match="is in USD but order ord-1 was paid in EUR"):
        await loyalty.points.on_purchase_returned(dollars, loyalty.event(dollars, "usd-id"))

    assert (await loyalty.account()).balance == 80  # only the first return counted
    assert sorted(loyalty.entries) == ["earn:buy-ord-1", "reverse:return-ret-1"]


async def test_return_before_its_purchase_waits(loyalty: Loyalty) -> None:
    await loyalty.register()
    with pytest.raises(MissingPrerequisite, match="order ord-9"):
        await loyalty.return_(100, order="ord-9")


# --- redemption ----------------------------------------------------------------------------
async def test_redemption_spends_points_once_per_idempotency_key(loyalty: Loyalty) -> None:
    await loyalty.register()
    await loyalty.purchase(10_000)

    first = await loyalty.redeem(30)
    retry = await loyalty.redeem(30)

    assert first.entry.entry_id == retry.entry.entry_id
    assert (first.balance, retry.balance) == (70, 70)
    [redeemed] = loyalty.published(PointsRedeemed)
    assert (redeemed["points"], redeemed["balance_after"]) == (30, 70)
    with pytest.raises(Conflict, match="Idempotency-Key"):
        await loyalty.redeem(31)


async def test_redemption_errors_are_clear(loyalty: Loyalty) -> None:
    await loyalty.register()
    await loyalty.purchase(1_000)

    with pytest.raises(DomainError, match="insufficient balance: 10 points available, 11"):
        await loyalty.redeem(11)
    with pytest.raises(NotFound, match="nobody"):
        await loyalty.points.redeem("nobody", Redemption(1, "mug"), "r-1")
    assert [e.kind for e in loyalty.entries.values()] == ["earn"]


async def test_a_crashed_redemption_that_no_longer_fits_is_refused(loyalty: Loyalty) -> None:
    """A request cut off before the account write left nothing; its retry is decided again
    on the account as it is now, and refused without an entry."""
    await loyalty.register()
    await loyalty.purchase(1_000)
    loyalty.backend.crash_after(0)
    with pytest.raises(SimulatedCrash):
        await loyalty.redeem(8, key="k-1")
    assert [e.kind for e in loyalty.entries.values()] == ["earn"]
    await loyalty.redeem(5, key="k-2")

    with pytest.raises(DomainError, match="insufficient"):
        await loyalty.redeem(8, key="k-1")

    assert (await loyalty.account()).balance == 5
    assert [e.kind for e in loyalty.entries.values()] == ["earn", "redeem"]
    assert len(loyalty.published(PointsRedeemed)) == 1


# --- accounts stored before they kept their orders -----------------------------------------
async def test_an_account_without_orders_reverses_from_the_ledger(loyalty: Loyalty) -> None:
    """Accounts written by the pre-store service know their orders only from the ledger."""
    await loyalty.register()
    await loyalty.purchase(10_000)
    await loyalty.return_(4_000)
    stored = loyalty.backend.docs("accounts")["cus-1"]
    del stored["orders"], stored["orders_complete"]  # as the pre-store service wrote it

    assert await loyalty.return_(6_000, ret="ret-2") is True

    account = await loyalty.account()
    assert (account.balance, account.qualifying_points) == (0, 0)
    assert sorted(account.orders["ord-1"].returns) == ["ret-1", "ret-2"]
    data = golden(PurchaseRecorded, amount_minor=10_000, order_id="ord-1")
    with pytest.raises(Unprocessable, match="already recorded by event buy-ord-1"):
        await loyalty.points.on_purchase_recorded(data, loyalty.event(data, "buy-again"))
