"""Crash safety and concurrency of the loyalty service's writes, with the in-memory repository.

Each crash test lets the process "die" just before one write (``SimulatedCrash``), then delivers
the same event (or HTTP retry) again and checks that the stored state and the outbox end
up exactly as after an uninterrupted run: nothing lost, nothing applied twice.
"""

from __future__ import annotations

import pytest

from crm_events.loyalty import (
    HealthScoreChanged,
    LoyaltyAccountSettled,
    PointsAwarded,
    PointsRedeemed,
    PointsReversed,
)
from crm_loyalty.memory import SimulatedCrash
from crm_runtime.errors import Conflict
from tests.unit.test_loyalty_points import Loyalty

pytestmark = pytest.mark.unit

# The second write of a ledger-backed fact is the account, the third finishes the entry.
CRASH_POINTS = [
    pytest.param("save_account", True, id="after-the-entry"),
    pytest.param("finish_entry", False, id="after-the-account"),
]


@pytest.fixture
async def loyalty() -> Loyalty:
    loyalty = Loyalty()
    await loyalty.register()
    return loyalty


@pytest.mark.parametrize(("write", "redelivery_applies"), CRASH_POINTS)
async def test_a_purchase_heals_on_redelivery(
    loyalty: Loyalty, write: str, redelivery_applies: bool
) -> None:
    now = loyalty.clock.now().isoformat()  # inside the health window: the score moves
    loyalty.repo.crash_before = {write}
    with pytest.raises(SimulatedCrash):
        await loyalty.purchase(2_000, purchased_at=now)

    assert await loyalty.purchase(2_000, purchased_at=now) is redelivery_applies

    assert loyalty.repo.entries["earn:buy-ord-1"].state == "posted"
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points, account.score) == (20, 20, 73)
    assert len(loyalty.published(PointsAwarded)) == 1
    assert len(loyalty.published(HealthScoreChanged)) == 1


@pytest.mark.parametrize(("write", "redelivery_applies"), CRASH_POINTS)
async def test_a_return_heals_on_redelivery(
    loyalty: Loyalty, write: str, redelivery_applies: bool
) -> None:
    await loyalty.purchase(10_000)
    loyalty.repo.crash_before = {write}
    with pytest.raises(SimulatedCrash):
        await loyalty.return_(4_000)

    assert await loyalty.return_(4_000) is redelivery_applies

    assert loyalty.repo.entries["reverse:return-ret-1"].state == "posted"
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points) == (60, 60)
    [reversed_] = loyalty.published(PointsReversed)
    assert (reversed_["points"], reversed_["balance_after"]) == (40, 60)


async def test_an_ignored_purchase_stays_ignored_after_a_crash(loyalty: Loyalty) -> None:
    await loyalty.exit()
    loyalty.repo.crash_before = {"finish_entry"}
    with pytest.raises(SimulatedCrash):
        await loyalty.purchase(5_000)

    assert await loyalty.purchase(5_000) is False

    entry = loyalty.repo.entries["earn:buy-ord-1"]
    assert (entry.state, entry.delta) == ("ignored", 0)
    assert (await loyalty.account()).balance == 0
    assert loyalty.published(PointsAwarded) == []


async def test_a_settlement_entry_is_written_on_redelivery(loyalty: Loyalty) -> None:
    await loyalty.purchase(12_990)
    loyalty.repo.crash_before = {"add_entry"}  # the settle entry, after the account write
    with pytest.raises(SimulatedCrash):
        await loyalty.exit()
    assert "settle:exit-obc-1" not in loyalty.repo.entries

    assert await loyalty.exit() is False

    entry = loyalty.repo.entries["settle:exit-obc-1"]
    assert (entry.state, entry.points, entry.delta) == ("posted", 129, -129)
    assert len(loyalty.published(LoyaltyAccountSettled)) == 1
    assert (await loyalty.account()).status == "settled"


@pytest.mark.parametrize("write", ["save_account", "finish_entry"])
async def test_a_redemption_retried_with_its_key_spends_once(loyalty: Loyalty, write: str) -> None:
    await loyalty.purchase(10_000)
    loyalty.repo.crash_before = {write}
    with pytest.raises(SimulatedCrash):
        await loyalty.redeem(30)

    retry = await loyalty.redeem(30)

    assert (retry.entry.state, retry.balance) == ("posted", 70)
    assert (await loyalty.account()).balance == 70
    [redeemed] = loyalty.published(PointsRedeemed)
    assert (redeemed["entry_id"], redeemed["balance_after"]) == (retry.entry.entry_id, 70)


# --- version races ---------------------------------------------------------------------------
async def test_lost_version_races_are_retried(loyalty: Loyalty) -> None:
    loyalty.repo.conflicts_to_simulate = 3

    assert await loyalty.purchase(2_000) is True

    assert (await loyalty.account()).balance == 20
    assert len(loyalty.published(PointsAwarded)) == 1


async def test_a_redemption_that_keeps_losing_the_race_is_refused_and_discarded(
    loyalty: Loyalty,
) -> None:
    await loyalty.purchase(10_000)
    loyalty.repo.conflicts_to_simulate = 10

    with pytest.raises(Conflict, match="updated concurrently; retry"):
        await loyalty.redeem(30)

    assert [e.kind for e in loyalty.repo.entries.values()] == ["earn"]
    assert loyalty.published(PointsRedeemed) == []
    assert (await loyalty.redeem(30)).balance == 70  # the retry goes through
