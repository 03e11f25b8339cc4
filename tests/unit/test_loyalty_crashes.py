"""Crash safety and concurrency of the loyalty service's writes, over the in-memory store.

Each crash test lets the process "die" just before one write (``SimulatedCrash``: the ledger
entry, then the account), then delivers the same event (or HTTP retry) again and checks that
the stored state and the outbox end up exactly as after an uninterrupted run: nothing lost,
nothing applied twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from crm_events.loyalty import (
    HealthScoreChanged,
    LoyaltyAccountSettled,
    PointsAwarded,
    PointsRedeemed,
    PointsReversed,
)
from crm_runtime.errors import Conflict
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from crm_runtime.retry import TransientRetry
from crm_runtime.store import Write
from crm_runtime.store_batch import StoreBatch
from tests.store_memory import InMemoryBackend, SimulatedCrash
from tests.unit.loyalty_plugin import Loyalty

pytestmark = pytest.mark.unit

# The account write (write 0) carries the ledger entry; the entry's insert (write 1) follows.
CRASH_POINTS = [
    pytest.param(0, id="before-the-account"),
    pytest.param(1, id="between-account-and-entry"),
]


class StaleBackend(InMemoryBackend):
    """Makes the next ``stale`` account writes lose their version race."""

    def __init__(self) -> None:
        super().__init__()
        self.stale = 0

    async def write(self, collection: str, writes: Sequence[Write]) -> set[str]:
        if self.stale:
            self.stale -= 1
            return {w.id for w in writes}
        return await super().write(collection, writes)


@pytest.fixture
async def loyalty() -> Loyalty:
    loyalty = Loyalty(backend=StaleBackend())
    await loyalty.register()
    return loyalty


def stale(loyalty: Loyalty, writes: int) -> None:
    assert isinstance(loyalty.backend, StaleBackend)
    loyalty.backend.stale = writes


@pytest.mark.parametrize("write", CRASH_POINTS)
async def test_a_purchase_heals_on_redelivery(loyalty: Loyalty, write: int) -> None:
    now = loyalty.clock.now().isoformat()  # inside the health window: the score moves
    loyalty.backend.crash_after(write)
    with pytest.raises(SimulatedCrash):
        await loyalty.purchase(2_000, purchased_at=now)

    # Redelivered: decided again if the account write never happened, else a duplicate.
    assert await loyalty.purchase(2_000, purchased_at=now) is (write == 0)
    assert await loyalty.purchase(2_000, purchased_at=now) is False

    assert loyalty.entries["earn:buy-ord-1"].state == "posted"
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points, account.score) == (20, 20, 73)
    assert len(loyalty.published(PointsAwarded)) == 1
    assert len(loyalty.published(HealthScoreChanged)) == 1


@pytest.mark.parametrize("write", CRASH_POINTS)
async def test_a_return_heals_on_redelivery(loyalty: Loyalty, write: int) -> None:
    await loyalty.purchase(10_000)
    loyalty.backend.crash_after(write)
    with pytest.raises(SimulatedCrash):
        await loyalty.return_(4_000)

    assert await loyalty.return_(4_000) is (write == 0)
    assert await loyalty.return_(4_000) is False

    assert loyalty.entries["reverse:return-ret-1"].state == "posted"
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points) == (60, 60)
    [reversed_] = loyalty.published(PointsReversed)
    assert (reversed_["points"], reversed_["balance_after"]) == (40, 60)


async def test_an_ignored_purchase_stays_ignored_after_a_crash(loyalty: Loyalty) -> None:
    await loyalty.exit()
    loyalty.backend.crash_after(1)  # the account is written, its entry not yet inserted
    with pytest.raises(SimulatedCrash):
        await loyalty.purchase(5_000)

    assert await loyalty.purchase(5_000) is False  # stored already: a duplicate

    entry = loyalty.entries["earn:buy-ord-1"]
    assert (entry.state, entry.delta) == ("ignored", 0)
    assert (await loyalty.account()).balance == 0
    assert loyalty.published(PointsAwarded) == []


@pytest.mark.parametrize("write", CRASH_POINTS)
async def test_a_settlement_heals_on_redelivery(loyalty: Loyalty, write: int) -> None:
    await loyalty.purchase(12_990)
    loyalty.backend.crash_after(write)
    with pytest.raises(SimulatedCrash):
        await loyalty.exit()
    assert (await loyalty.account()).status == ("open" if write == 0 else "settled")

    assert await loyalty.exit() is (write == 0)
    assert await loyalty.exit() is False

    entry = loyalty.entries["settle:exit-obc-1"]
    assert (entry.state, entry.points, entry.delta) == ("posted", 129, -129)
    assert len(loyalty.published(LoyaltyAccountSettled)) == 1
    assert (await loyalty.account()).status == "settled"


@pytest.mark.parametrize("write", CRASH_POINTS)
async def test_a_redemption_retried_with_its_key_spends_once(loyalty: Loyalty, write: int) -> None:
    await loyalty.purchase(10_000)
    loyalty.backend.crash_after(write)
    with pytest.raises(SimulatedCrash):
        await loyalty.redeem(30)

    retry = await loyalty.redeem(30)
    again = await loyalty.redeem(30)

    assert (retry.entry.state, retry.balance, again.balance) == ("posted", 70, 70)
    assert (await loyalty.account()).balance == 70
    [redeemed] = loyalty.published(PointsRedeemed)
    assert (redeemed["entry_id"], redeemed["balance_after"]) == (retry.entry.entry_id, 70)


# --- version races ---------------------------------------------------------------------------
async def test_lost_version_races_are_retried(loyalty: Loyalty) -> None:
    stale(loyalty, 3)

    assert await loyalty.purchase(2_000) is True

    assert (await loyalty.account()).balance == 20
    assert len(loyalty.published(PointsAwarded)) == 1


async def test_a_redemption_that_keeps_losing_the_race_is_refused(loyalty: Loyalty) -> None:
    """Nothing of the refused request is left: no entry claims points the account kept."""
    await loyalty.purchase(10_000)
    stale(loyalty, 10)

    with pytest.raises(Conflict, match="updated concurrently; retry"):
        await loyalty.redeem(30)

    assert (await loyalty.account()).balance == 100
    assert [e.kind for e in loyalty.entries.values()] == ["earn"]
    assert loyalty.published(PointsRedeemed) == []
    stale(loyalty, 0)
    assert (await loyalty.redeem(30)).balance == 70  # the retry goes through
    assert len(loyalty.published(PointsRedeemed)) == 1


# --- one poll, one unit of work ----------------------------------------------------------------
async def test_a_purchase_and_its_return_in_one_poll(loyalty: Loyalty) -> None:
    """The return is decided on the account the poll holds in memory: the earn entry is
    not written until the poll commits."""
    writes = loyalty.backend.writes
    with StoreBatch(TransientRetry(Health(), Metrics("test-loyalty"), (0.01, 0.01))) as batch:
        assert await loyalty.purchase(10_000) is True
        assert await loyalty.return_(4_000) is True
        assert loyalty.entries == {}
        await batch.commit()

    assert loyalty.backend.writes - writes == 2  # one account write, one ledger insert
    assert [e.state for e in loyalty.entries.values()] == ["posted", "posted"]
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points) == (60, 60)
    [reversed_] = loyalty.published(PointsReversed)
    assert (reversed_["points"], reversed_["balance_after"]) == (40, 60)
