"""The rules API and the account view over the real wiring (``create_app``, in-memory store):
a manager stores or dry-runs a rule book, others may only read it; the account view shows
lots, caps and the budget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from crm_events.contacts import CustomerRegistered
from crm_events.inbound import PurchaseRecorded
from crm_loyalty.app import create_app
from crm_loyalty.settings import LoyaltySettings
from crm_runtime.clock import ManualClock
from tests.store_memory import InMemoryBackend
from tests.support import AGENT, MANAGER
from tests.unit.delivery import deliver
from tests.unit.loyalty_plugin import NOW, golden
from tests.unit.test_loyalty_rules import PURCHASE, rule

pytestmark = pytest.mark.unit
KEYS = {"agent-key": "agent", "manager-key": "manager"}
BOOK = {
    "rules": [PURCHASE, rule("visit", "contact_logged", {"kind": "fixed", "points": 5})],
    "member_cap": {"points": 100, "period": "month"},
    "budget": {"points": 10_000, "period": "year"},
}


@pytest.fixture
async def api() -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(
        LoyaltySettings(api_keys=KEYS, expiry_policy="fixed", expiry_months=6),
        ManualClock(NOW),
        store=InMemoryBackend(),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, app.state.runtime


async def test_only_a_manager_stores_rules_and_a_dry_run_tries_samples(
    api: tuple[httpx.AsyncClient, Any],
) -> None:
    client, _ = api
    sample = {"trigger": "purchase_recorded", "tier": "bronze"}
    sample["fields"] = {"amount_minor": 50_000, "currency": "EUR"}  # type: ignore[assignment]
    trial = await client.put(
        "/rules?dry_run=true", json={**BOOK, "samples": [sample]}, headers=MANAGER
    )
    refused = await client.put("/rules", json=BOOK, headers=AGENT)
    invalid = await client.put(
        "/rules",
        json={"rules": [rule("x", "birthday", {"kind": "per_currency_unit", "points": 1})]},
        headers=MANAGER,
    )

    assert trial.status_code == 200, trial.text
    assert (trial.json()["stored"], trial.json()["version"]) == (False, 2)
    assert [(t["points"], t["capped"]) for t in trial.json()["trials"]] == [(100, 400)]
    assert refused.status_code == 403
    assert invalid.status_code == 422
    assert "carries no amount" in invalid.text
    assert (await client.get("/rules", headers=AGENT)).json()["version"] == 1

    stored = await client.put("/rules", json={**BOOK, "expected_version": 1}, headers=MANAGER)
    stale = await client.put("/rules", json={**BOOK, "expected_version": 1}, headers=MANAGER)
    assert (stored.status_code, stored.json()["stored"]) == (200, True)
    assert stale.status_code == 409
    assert (await client.get("/rules?version=1", headers=AGENT)).json()["version"] == 1
    assert (await client.get("/rules?version=9", headers=AGENT)).status_code == 404
    versions = await client.get("/rules/versions", headers=AGENT)
    assert [v["version"] for v in versions.json()["items"]] == [2]


async def test_the_account_view_shows_lots_caps_and_the_budget(
    api: tuple[httpx.AsyncClient, Any],
) -> None:
    client, runtime = api
    assert (await client.put("/rules", json=BOOK, headers=MANAGER)).status_code == 200
    registered = golden(CustomerRegistered)
    await deliver(runtime, registered.to_event(source="/t", event_id="reg-1", time=NOW))
    bought = golden(PurchaseRecorded, amount_minor=30_000, purchased_at=NOW.isoformat())
    await deliver(runtime, bought.to_event(source="/t", event_id="buy-1", time=NOW))

    view = (await client.get("/accounts/cus-1", headers=AGENT)).json()
    assert view["balance"] == 100
    assert [(lot["entry_id"], lot["remaining"]) for lot in view["lots"]] == [("earn:buy-1", 100)]
    assert view["next_expiry_at"] == "2026-09-01T09:00:00Z"
    assert view["caps"] == [
        {
            "scope": "member",
            "period": "m202603",
            "used": 100,
            "limit": 100,
            "until": "2026-04-01T00:00:00Z",
        }
    ]
    assert view["budget"] == {"period": "y2026", "limit": 10_000, "granted": 100, "left": 9_900}
    assert view["rulebook_version"] == 2
    ledger = (await client.get("/accounts/cus-1/ledger", headers=AGENT)).json()["items"]
    assert ledger[0]["note"] == "200 points capped (member cap: 100 points per month)"


async def test_a_dry_run_tries_a_referral_rule_on_sample_referrals(
    api: tuple[httpx.AsyncClient, Any],
) -> None:
    client, _ = api
    referral = rule(
        "friend",
        "referral",
        {"kind": "fixed", "points": 300},
        conditions=[{"field": "channel", "op": "eq", "value": "link"}],
    )
    samples = [
        {"trigger": "referral", "tier": "bronze", "fields": {"channel": "link"}},
        {"trigger": "referral", "tier": "bronze", "fields": {"channel": "code"}},
    ]
    body = {"rules": [PURCHASE, referral], "samples": samples}

    trial = await client.put("/rules?dry_run=true", json=body, headers=MANAGER)

    assert trial.status_code == 200, trial.text
    assert [t["points"] for t in trial.json()["trials"]] == [300, 0]
    assert (await client.get("/rules", headers=AGENT)).json()["version"] == 1  # not stored
