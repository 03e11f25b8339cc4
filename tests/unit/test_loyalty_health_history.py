"""The health score over time: one history point per change with the contribution that
moved it; contribution weights are versioned, bounded, and named by every point."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from pydantic import ValidationError

from crm_loyalty import codec
from crm_loyalty.app import create_app
from crm_loyalty.settings import LoyaltySettings
from crm_loyalty.weights import WeightsBody
from crm_runtime.clock import ManualClock
from crm_runtime.errors import Conflict
from tests.store_memory import InMemoryBackend
from tests.support import AGENT, MANAGER
from tests.unit.loyalty_plugin import NOW, Loyalty
from tests.unit.test_loyalty_rules_api import KEYS

pytestmark = pytest.mark.unit
WEIGHTS = {
    "contact": 4,
    "purchase": 3,
    "complaint": {"low": -5, "medium": -10, "high": -15, "critical": -20},
    "sla_breach": -15,
    "survey_low": -15,
    "survey_high": 5,
    "inactivity": -10,
    "payment_overdue": -15,
    "contract_breached": -20,
}


async def history(loyalty: Loyalty) -> list[tuple[int, int, str, int]]:
    points = await codec.health_history(
        loyalty.backend, "cus-1", since=NOW, until=NOW + timedelta(days=999), limit=100
    )
    return [(p.previous_score, p.score, p.code, p.weights_version) for p in reversed(points)]


async def test_every_change_is_a_point_with_the_contribution_that_moved_it() -> None:
    loyalty = Loyalty()
    await loyalty.register()
    await loyalty.contact(1)
    loyalty.clock.advance(timedelta(hours=1))
    await loyalty.purchase(1_000, purchased_at=NOW.isoformat())
    await loyalty.survey(1, csat=3)  # neutral: no change, no point
    assert await loyalty.contact(1) is False  # a duplicate adds nothing
    loyalty.clock.set(NOW + timedelta(days=70))
    await loyalty.sweep()  # inactivity

    assert await history(loyalty) == [
        (70, 72, "contact_logged", 1),
        (72, 75, "purchase_recorded", 1),
        (75, 65, "inactivity", 1),
    ]


async def test_new_weights_apply_to_later_facts_and_are_named_by_their_points() -> None:
    loyalty = Loyalty()
    await loyalty.register()
    await loyalty.contact(1)
    stored = await loyalty.weights.put(WeightsBody.model_validate(WEIGHTS), by="m", expected=1)
    await loyalty.contact(2)

    assert stored.version == 2
    assert (await history(loyalty))[-1] == (72, 76, "contact_logged", 2)
    with pytest.raises(Conflict, match="version 2, not 1"):
        await loyalty.weights.put(WeightsBody.model_validate(WEIGHTS), by="m", expected=1)


@pytest.mark.parametrize(
    "bad",
    [
        {**WEIGHTS, "contact": -1},  # a contact never lowers the score
        {**WEIGHTS, "inactivity": 5},  # inactivity never raises it
        {**WEIGHTS, "payment_overdue": -51},  # beyond the bounds
        {**WEIGHTS, "complaint": {"low": -5}},  # every severity
    ],
)
def test_weights_keep_their_sign_and_bounds(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WeightsBody.model_validate(bad)


async def test_the_history_endpoint_filters_by_period_and_weights_need_a_manager() -> None:
    clock = ManualClock(NOW)
    app = create_app(LoyaltySettings(api_keys=KEYS), clock, store=InMemoryBackend())
    loyalty = app.state.points
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        refused = await client.put("/health/weights", json=WEIGHTS, headers=AGENT)
        stored = await client.put("/health/weights", json=WEIGHTS, headers=MANAGER)
        assert (refused.status_code, stored.status_code) == (403, 200)
        assert (await client.get("/health/weights", headers=AGENT)).json()["version"] == 2
        first = await client.get("/health/weights?version=1", headers=AGENT)
        assert first.json()["weights"]["contact"] == 2
        assert (await client.get("/health/weights?version=7", headers=AGENT)).status_code == 404
        versions = await client.get("/health/weights/versions", headers=AGENT)
        assert [v["version"] for v in versions.json()["items"]] == [2]

        unknown = await client.get("/accounts/cus-9/health/history", headers=AGENT)
        backwards = await client.get(
            "/accounts/cus-9/health/history",
            params={"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
            headers=AGENT,
        )
        assert (unknown.status_code, backwards.status_code) == (404, 422)
    assert loyalty is not None
