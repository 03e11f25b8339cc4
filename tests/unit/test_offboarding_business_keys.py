"""Offboarding takes a risk once whatever event id it comes under (issue 6, finding 5); a
risk id re-used for a different risk is a conflict, not silently merged."""

from __future__ import annotations

import pytest

from crm_events.loyalty import RiskDetected
from crm_offboarding.handlers import register_handlers
from crm_offboarding.memory import InMemoryOffboardingRepository
from crm_offboarding.service import OffboardingService
from crm_runtime.clock import ManualClock
from tests.unit.guarded import GuardedRuntime, event_of
from tests.unit.test_offboarding_service import NOW

pytestmark = pytest.mark.unit


@pytest.fixture
def offboarding() -> tuple[InMemoryOffboardingRepository, GuardedRuntime]:
    repo = InMemoryOffboardingRepository()
    clock = ManualClock(NOW)
    runtime = GuardedRuntime(clock)
    register_handlers(runtime, OffboardingService(repo, clock, source="/crm/offboarding"))  # type: ignore[arg-type]
    return repo, runtime


async def test_the_same_risk_under_a_new_event_id_opens_one_case(
    offboarding: tuple[InMemoryOffboardingRepository, GuardedRuntime],
) -> None:
    repo, runtime = offboarding

    first = await runtime.deliver(event_of(RiskDetected, "evt-1"))
    second = await runtime.deliver(event_of(RiskDetected, "evt-2"))

    assert (first, second) == ("applied", "duplicate")
    assert len(repo.cases) == 1
    assert len(repo.outbox) == 1


async def test_a_risk_id_reused_for_another_risk_is_a_conflict(
    offboarding: tuple[InMemoryOffboardingRepository, GuardedRuntime],
) -> None:
    repo, runtime = offboarding
    await runtime.deliver(event_of(RiskDetected, "evt-1"))

    outcome = await runtime.deliver(event_of(RiskDetected, "evt-2", category="law_and_regulation"))

    assert outcome.startswith("dlq:conflict: ")
    assert "evt-1" in outcome
    assert "evt-2" in outcome
    [case] = repo.cases.values()
    assert list(case.risks) == ["risk-8001"]
