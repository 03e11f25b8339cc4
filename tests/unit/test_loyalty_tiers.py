"""Tiers with qualification periods: upgrade at once, requalification at the review,
downgrade by at most one level after the grace window (cancelled by requalifying), each
change a TierChanged with its reason and the period's figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events.loyalty import TierChanged
from crm_loyalty.rules import EarningRules, Rules
from tests.unit.loyalty_plugin import NOW, Loyalty

pytestmark = pytest.mark.unit


def with_tiers(qualification: str, grace_days: int = 30) -> Loyalty:
    earning = replace(EarningRules(), qualification=qualification, tier_grace_days=grace_days)
    return Loyalty(rules=Rules(earning=earning))


async def sweep_until(loyalty: Loyalty, moment: datetime) -> None:
    loyalty.clock.set(moment)
    for _ in range(100):
        if not await loyalty.sweep():
            return
    raise AssertionError("timers kept firing")


async def buy(loyalty: Loyalty, amount: int, order: str) -> None:
    await loyalty.purchase(amount, order=order, purchased_at=loyalty.clock.now().isoformat())


def changes(loyalty: Loyalty) -> list[tuple[Any, ...]]:
    return [
        (c.get("previous_tier"), c["new_tier"], c["reason"], c["qualifying_points"])
        for c in loyalty.published(TierChanged)
    ]


async def test_rolling_upgrade_is_immediate_and_names_the_period() -> None:
    loyalty = with_tiers("rolling_12_months")
    await loyalty.register()
    await buy(loyalty, 120_000, "ord-1")

    upgrade = loyalty.published(TierChanged)[-1]
    assert (upgrade["new_tier"], upgrade["reason"], upgrade["required_points"]) == (
        "silver",
        "qualified",
        1000,
    )
    assert (upgrade["period_start"], upgrade["period_end"]) == (
        "2025-04-01T00:00:00Z",
        "2026-04-01T00:00:00Z",
    )
    assert upgrade["next_review_at"] == "2027-03-01T09:00:00Z"


async def test_a_missed_review_downgrades_one_level_after_the_grace_window() -> None:
    loyalty = with_tiers("rolling_12_months", grace_days=30)
    await loyalty.register()
    await buy(loyalty, 600_000, "ord-1")  # gold at once
    await sweep_until(loyalty, datetime(2027, 3, 1, 9, 0, tzinfo=UTC))  # requalified
    assert (await loyalty.account()).tier == "gold"

    await sweep_until(loyalty, datetime(2028, 3, 1, 9, 0, tzinfo=UTC))  # nothing in 12 months
    account = await loyalty.account()
    assert account.tier == "gold"  # still, during the grace window
    assert account.pending_downgrade is not None
    assert account.pending_downgrade.to_tier == "silver"  # one level, though 0 points
    await sweep_until(loyalty, datetime(2028, 3, 31, 9, 0, tzinfo=UTC))

    downgrade = loyalty.published(TierChanged)[-1]
    assert (downgrade["previous_tier"], downgrade["new_tier"], downgrade["reason"]) == (
        "gold",
        "silver",
        "downgraded",
    )
    assert downgrade["qualifying_points"] == 0
    assert (downgrade["period_start"], downgrade["period_end"]) == (
        "2027-03-01T00:00:00Z",
        "2028-03-01T00:00:00Z",
    )
    assert (await loyalty.account()).tier == "silver"


async def test_requalifying_during_the_grace_window_cancels_the_downgrade() -> None:
    loyalty = with_tiers("rolling_12_months", grace_days=30)
    await loyalty.register()
    await buy(loyalty, 150_000, "ord-1")  # silver
    await sweep_until(loyalty, datetime(2028, 3, 1, 9, 0, tzinfo=UTC))
    assert (await loyalty.account()).pending_downgrade is not None
    await buy(loyalty, 110_000, "ord-2")  # 1,100 points in the current window
    await sweep_until(loyalty, datetime(2028, 4, 15, 9, 0, tzinfo=UTC))

    account = await loyalty.account()
    assert (account.tier, account.pending_downgrade) == ("silver", None)
    assert [c[2] for c in changes(loyalty)] == ["enrolled", "qualified"]


async def test_calendar_year_reviews_on_the_first_of_january() -> None:
    loyalty = with_tiers("calendar_year", grace_days=0)
    await loyalty.register()
    await buy(loyalty, 150_000, "ord-1")
    assert (await loyalty.account()).tier_review_at == datetime(2027, 1, 1, tzinfo=UTC)
    await sweep_until(loyalty, datetime(2027, 1, 1, tzinfo=UTC))  # 2026 had 1,500: stays
    assert (await loyalty.account()).tier == "silver"
    await sweep_until(loyalty, datetime(2028, 1, 1, tzinfo=UTC))  # 2027 had none

    assert changes(loyalty)[-1] == ("silver", "bronze", "downgraded", 0)
    assert loyalty.published(TierChanged)[-1]["period_start"] == "2027-01-01T00:00:00Z"


async def test_a_return_under_periods_waits_for_the_review_instead_of_downgrading() -> None:
    loyalty = with_tiers("rolling_12_months")
    await loyalty.register()
    await buy(loyalty, 120_000, "ord-1")
    await loyalty.return_(120_000, order="ord-1")

    account = await loyalty.account()
    assert (account.tier, account.qualifying_points) == ("silver", 0)
    assert [c[2] for c in changes(loyalty)] == ["enrolled", "qualified"]


async def test_lifetime_qualification_keeps_todays_behaviour() -> None:
    loyalty = with_tiers("lifetime")
    await loyalty.register()
    await buy(loyalty, 120_000, "ord-1")
    await loyalty.return_(120_000, order="ord-1")

    assert [c[1:3] for c in changes(loyalty)] == [
        ("bronze", "enrolled"),
        ("silver", "qualified"),
        ("bronze", "downgraded"),
    ]
    assert (await loyalty.account()).next_due_at == NOW + timedelta(days=60)
