"""Offboarding commands under concurrency and crashes: another writer between a command's
read and write, a retry racing its original, a crash between two writes."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence

import pytest

from crm_events import CloudEvent
from crm_events.loyalty import RiskDetected
from crm_offboarding.domain import RetentionOutcome, case_id_for
from crm_offboarding.lifecycle import CaseState
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from crm_runtime.retry import TransientRetry
from crm_runtime.store import AggregateConflict, Write
from crm_runtime.store_batch import StoreBatch
from tests.store_memory import InMemoryBackend, SimulatedCrash
from tests.unit.offboarding_plugin import OFFER, ROUND, Offboarding, risk, types

pytestmark = pytest.mark.unit


class InterleavingBackend(InMemoryBackend):
    """Lets another writer run just before a write, or makes every write lose its race."""

    def __init__(self) -> None:
        super().__init__()
        self.before_write: Callable[[], Awaitable[object]] | None = None
        self.always_stale = False

    async def write(self, collection: str, writes: Sequence[Write]) -> set[str]:
        if self.always_stale:
            return {w.id for w in writes}
        if self.before_write is not None:
            other, self.before_write = self.before_write, None
            await other()
        return await super().write(collection, writes)


@pytest.fixture
def offboarding_backend() -> InterleavingBackend:
    return InterleavingBackend()


@pytest.fixture
def racing(offb: Offboarding) -> InterleavingBackend:
    assert isinstance(offb.backend, InterleavingBackend)
    return offb.backend


async def test_concurrent_rounds_get_distinct_numbers(
    offb: Offboarding, racing: InterleavingBackend
) -> None:
    case = await offb.in_negotiation()
    racing.before_write = lambda: offb.service.record_round(case.case_id, ROUND, "cmd-other")

    mine = await offb.service.record_round(case.case_id, ROUND, "cmd-mine")

    assert sorted(mine.rounds) == [1, 2, 3]
    numbers = [e.data["round"] for e in offb.outbox() if e.data.get("round")]
    assert numbers == [1, 2, 3]


async def test_a_case_that_keeps_changing_gives_up_with_a_conflict(
    offb: Offboarding, racing: InterleavingBackend
) -> None:
    case = await offb.in_negotiation()
    racing.always_stale = True

    with pytest.raises(AggregateConflict, match="kept changing"):
        await offb.service.record_round(case.case_id, ROUND, "cmd-mine")


async def test_a_crash_before_the_marker_release_heals_when_the_command_is_retried(
    offb: Offboarding,
) -> None:
    case = await offb.in_negotiation()
    offb.backend.crash_after(1)  # the case is written, the marker release is not
    outcome = RetentionOutcome(True, "emp-mgr")

    with pytest.raises(SimulatedCrash):
        await offb.service.conclude_retention(case.case_id, outcome, "cmd-end")
    [stored] = offb.stored_cases()
    assert stored.state is CaseState.RETAINED
    assert offb.open_case_id() == case.case_id  # the stale marker
    retried = await offb.service.conclude_retention(case.case_id, outcome, "cmd-end")

    assert retried.state is CaseState.RETAINED
    assert retried.version == case.version + 1
    assert offb.open_case_id() is None
    assert types(offb.outbox()).count("customer-retained") == 1


async def test_a_retry_racing_its_original_answers_with_the_applied_case(
    offb: Offboarding, racing: InterleavingBackend
) -> None:
    case = await offb.open_case()
    # The original lands after the retry read the case, before the retry's write.
    racing.before_write = lambda: offb.service.choose_retention(case.case_id, OFFER, "cmd-1")

    answer = await offb.service.choose_retention(case.case_id, OFFER, "cmd-1")

    assert answer.state is CaseState.RETENTION
    assert answer.version == case.version + 1
    assert types(offb.outbox()) == ["offboarding-case-opened", "retention-offer-made"]


async def test_a_race_on_the_marker_is_decided_again_on_the_fresh_marker(
    offb: Offboarding,
) -> None:
    await offb.open_case()
    offb.backend.race("open_cases", "cus-1")

    assert await offb.take(*risk_two()) is True

    [case] = offb.stored_cases()
    assert sorted(case.risks) == ["risk-1", "risk-2"]


def risk_two() -> tuple[RiskDetected, CloudEvent]:
    return risk(event_id="evt-risk-2", risk_id="risk-2")


async def test_a_retention_landing_during_a_poll_makes_the_poll_redeliver_and_reroute(
    offb: Offboarding,
) -> None:
    case = await offb.in_negotiation()
    retry = TransientRetry(Health(), Metrics("test-offboarding"), (0.01, 0.01))
    concluding = offb.service.conclude_retention(
        case.case_id, RetentionOutcome(True, "emp-mgr"), "cmd-end"
    )
    with StoreBatch(retry) as batch:
        assert await offb.take(*risk_two()) is True  # joins the open case, in memory
        # An HTTP command (outside the poll) concludes the case before the poll commits.
        await asyncio.create_task(concluding, context=contextvars.Context())
        with pytest.raises(AggregateConflict, match="re-decided"):
            await batch.commit()

    assert await offb.take(*risk_two()) is True  # the redelivery

    assert (await offb.service.case(case.case_id)).risks.keys() == {"risk-1"}
    assert offb.open_case_id() == case_id_for("evt-risk-2")
    assert list((await offb.service.case(case_id_for("evt-risk-2"))).risks) == ["risk-2"]
