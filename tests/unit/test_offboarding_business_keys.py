"""Offboarding takes a risk once whatever event id it comes under (issue 6, finding 5); a
risk id re-used for a different risk is a conflict, not silently merged."""

from __future__ import annotations

import pytest

from crm_events.loyalty import RiskDetected
from tests.unit.guarded import event_of
from tests.unit.offboarding_plugin import Offboarding

pytestmark = pytest.mark.unit


async def test_the_same_risk_under_a_new_event_id_opens_one_case(offb: Offboarding) -> None:
    first = await offb.deliver(event_of(RiskDetected, "evt-1"))
    second = await offb.deliver(event_of(RiskDetected, "evt-2"))

    assert (first, second) == ("applied", "duplicate")
    assert len(offb.stored_cases()) == 1
    assert len(offb.outbox()) == 1


async def test_a_risk_id_reused_for_another_risk_is_a_conflict(offb: Offboarding) -> None:
    await offb.deliver(event_of(RiskDetected, "evt-1"))

    outcome = await offb.deliver(event_of(RiskDetected, "evt-2", category="law_and_regulation"))

    assert outcome.startswith("dlq:conflict: ")
    assert "evt-1" in outcome
    assert "evt-2" in outcome
    [case] = offb.stored_cases()
    assert list(case.risks) == ["risk-8001"]
