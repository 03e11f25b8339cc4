"""Loyalty offboarding and configuration: freeze and settle on ExitAgreed, settings → rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from crm_events.loyalty import LoyaltyAccountSettled, PointsAwarded
from crm_loyalty.rules import Rules, SettlementRules
from crm_loyalty.settings import LoyaltySettings
from crm_runtime.errors import Conflict, MissingPrerequisite
from tests.unit.loyalty_plugin import Loyalty

pytestmark = pytest.mark.unit


@pytest.fixture
def loyalty() -> Loyalty:
    return Loyalty()


# --- offboarding ---------------------------------------------------------------------------
async def test_exit_freezes_and_settles_the_account_once(loyalty: Loyalty) -> None:
    await loyalty.register()
    await loyalty.purchase(12_990)

    assert await loyalty.exit() is True
    assert await loyalty.exit() is False

    [settled] = loyalty.published(LoyaltyAccountSettled)
    assert settled["balance_points"] == 129
    assert settled["settlement"] == "cash_out"
    assert settled["amount_minor"] == 129
    assert settled["case_id"] == "obc-1"
    account = await loyalty.account()
    assert (account.status, account.balance, account.next_due_at) == ("settled", 0, None)
    assert loyalty.entries["settle:exit-obc-1"].points == 129


async def test_after_exit_purchases_earn_nothing_and_redemption_is_refused(
    loyalty: Loyalty,
) -> None:
    await loyalty.register()
    await loyalty.purchase(5_000)
    await loyalty.exit()

    assert await loyalty.purchase(5_000, order="ord-2") is True
    with pytest.raises(Conflict, match="account frozen"):
        await loyalty.redeem(1)

    ignored = loyalty.entries["earn:buy-ord-2"]
    assert ignored.state == "ignored"
    assert ignored.note == "account settled: purchases earn nothing"
    assert (ignored.points, ignored.delta) == (50, 0)  # what it would have earned; no effect
    assert len(loyalty.published(PointsAwarded)) == 1
    assert (await loyalty.account()).balance == 0


@pytest.mark.parametrize(
    ("policy", "amount"), [("cash_out", 100), ("voucher", 1000), ("forfeit", 0)]
)
async def test_settlement_policies(policy: Any, amount: int) -> None:
    settlement = SettlementRules(
        policy=policy, cash_out_minor_per_point=1, voucher_minor_per_point=10
    )
    loyalty = Loyalty(rules=Rules(settlement=settlement))
    await loyalty.register()
    await loyalty.purchase(10_000)

    await loyalty.exit()

    [settled] = loyalty.published(LoyaltyAccountSettled)
    assert (settled["settlement"], settled["amount_minor"]) == (policy, amount)


async def test_settlement_writes_off_points_owed(loyalty: Loyalty) -> None:
    await loyalty.register()
    await loyalty.purchase(10_000)
    await loyalty.redeem(60)
    await loyalty.return_(10_000)

    await loyalty.exit()

    assert loyalty.published(LoyaltyAccountSettled)[0]["balance_points"] == 0
    account = await loyalty.account()
    assert account.settlement is not None
    assert (account.balance, account.settlement.written_off) == (0, 60)


async def test_exit_for_an_unknown_account_waits(loyalty: Loyalty) -> None:
    with pytest.raises(MissingPrerequisite):
        await loyalty.exit()


# --- settings ------------------------------------------------------------------------------
def test_settings_build_the_rules() -> None:
    settings = LoyaltySettings(
        tier_thresholds={"gold": 500, "basic": 0},
        tier_multipliers_percent={"gold": 200, "basic": 100},
        settlement_policy="voucher",
    )
    rules = settings.rules()
    assert [t.code for t in rules.earning.tiers] == ["basic", "gold"]
    assert rules.earning.tier_for(499).code == "basic"
    assert rules.earning.tier_for(500).multiplier_percent == 200
    assert rules.settlement.policy == "voucher"
    # Applied event ids live APPLIED_RETENTION_DAYS in the store, unless set there.
    assert settings.applied_marker_lifetime_s == timedelta(days=90).total_seconds()
    assert LoyaltySettings(applied_marker_lifetime_s=700_000).applied_marker_lifetime_s == 700_000


@pytest.mark.parametrize(
    ("thresholds", "multipliers", "message"),
    [
        ({"bronze": 0}, {"silver": 100}, "same tiers"),
        ({"bronze": 10}, {"bronze": 100}, "threshold 0"),
        ({"Bronze": 0}, {"Bronze": 100}, "snake_case"),
        ({"bronze": 0}, {"bronze": -50}, "greater than or equal to 0"),
    ],
)
def test_inconsistent_tiers_are_refused(
    thresholds: dict[str, int], multipliers: dict[str, int], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        LoyaltySettings(tier_thresholds=thresholds, tier_multipliers_percent=multipliers)


def test_every_complaint_severity_needs_a_health_delta() -> None:
    with pytest.raises(ValidationError, match="exactly the severities"):
        LoyaltySettings(health_complaint={"low": -5, "high": -15})
