"""Offboarding commands under concurrency and crashes: another writer between a command's
read and write, a retry racing its original, a crash between two writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import pytest

from crm_events import CloudEvent
from crm_offboarding.domain import Case, RetentionOutcome
from crm_offboarding.lifecycle import CaseState
from crm_offboarding.memory import InMemoryOffboardingRepository
from crm_offboarding.service import OffboardingService
from crm_runtime.clock import ManualClock
from crm_runtime.errors import Conflict
from tests.unit.test_offboarding_service import (
    OFFER,
    ROUND,
    clock_fixture,  # noqa: F401  (fixture "clock")
    in_negotiation,
    open_case,
    types,
)

pytestmark = pytest.mark.unit


async def test_concurrent_rounds_get_distinct_numbers(clock: ManualClock) -> None:
    racing = RacingRepository()
    service = OffboardingService(racing, clock, source="/crm/offboarding")
    case = await in_negotiation(service)
    racing.interleave = lambda: service.record_round(case.case_id, ROUND, "cmd-other")

    mine = await service.record_round(case.case_id, ROUND, "cmd-mine")

    assert sorted(mine.rounds) == [1, 2, 3]
    numbers = [e.data["round"] for e in racing.outbox if e.data.get("round")]
    assert numbers == [1, 2, 3]


async def test_a_case_that_keeps_changing_gives_up_with_a_conflict(
    clock: ManualClock,
) -> None:
    racing = RacingRepository()
    service = OffboardingService(racing, clock, source="/crm/offboarding")
    case = await in_negotiation(service)
    racing.always_stale = True

    with pytest.raises(Conflict, match="kept changing"):
        await service.record_round(case.case_id, ROUND, "cmd-mine")


async def test_a_crash_before_the_marker_release_heals_when_the_command_is_retried(
    clock: ManualClock,
) -> None:
    crashing = CrashingRepository()
    service = OffboardingService(crashing, clock, source="/crm/offboarding")
    case = await in_negotiation(service)
    crashing.crash_on_release = True
    outcome = RetentionOutcome(True, "emp-mgr")

    with pytest.raises(SimulatedCrash):
        await service.conclude_retention(case.case_id, outcome, "cmd-end")
    assert crashing.cases[case.case_id].state is CaseState.RETAINED
    assert crashing.markers["cus-1"].case_id == case.case_id  # the stale marker
    retried = await service.conclude_retention(case.case_id, outcome, "cmd-end")

    assert retried.state is CaseState.RETAINED
    assert retried.version == case.version + 1
    assert "cus-1" not in crashing.markers
    assert types(crashing.outbox).count("customer-retained") == 1


async def test_a_retry_racing_its_original_answers_with_the_applied_case(
    clock: ManualClock,
) -> None:
    racing = RacingRepository()
    service = OffboardingService(racing, clock, source="/crm/offboarding")
    case = await open_case(service)
    # The original lands after the retry read the case, before it checked "applied".
    racing.before_applied_check = lambda: service.choose_retention(case.case_id, OFFER, "cmd-1")

    answer = await service.choose_retention(case.case_id, OFFER, "cmd-1")

    assert answer.state is CaseState.RETENTION
    assert answer.version == case.version + 1
    assert types(racing.outbox) == ["offboarding-case-opened", "retention-offer-made"]


class RacingRepository(InMemoryOffboardingRepository):
    """Lets another writer change the case between a command's read and its write."""

    def __init__(self) -> None:
        super().__init__()
        self.interleave: Callable[[], Awaitable[object]] | None = None
        self.before_applied_check: Callable[[], Awaitable[object]] | None = None
        self.always_stale = False

    async def was_applied(self, case_id: str, cause_id: str) -> bool:
        if self.before_applied_check is not None:
            other, self.before_applied_check = self.before_applied_check, None
            await other()
        return await super().was_applied(case_id, cause_id)

    async def save(
        self, case: Case, expected_version: int, cause_id: str, outbox: Sequence[CloudEvent]
    ) -> bool:
        if self.always_stale:
            return False
        if self.interleave is not None:
            other, self.interleave = self.interleave, None
            await other()
        return await super().save(case, expected_version, cause_id, outbox)


class SimulatedCrash(Exception):
    """The process died between two writes."""


class CrashingRepository(InMemoryOffboardingRepository):
    def __init__(self) -> None:
        super().__init__()
        self.crash_on_release = False

    async def release_marker(self, customer_id: str, case_id: str) -> bool:
        if self.crash_on_release:
            self.crash_on_release = False
            raise SimulatedCrash
        return await super().release_marker(customer_id, case_id)
