"""Helpers for the offboarding integration tests: wire records, request bodies, probes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_events import CloudEvent, EventData, decode
from crm_events.examples import load_golden
from crm_events.loyalty import RiskDetected
from crm_offboarding.app import create_app
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.clock import ManualClock
from tests.support import AGENT, Kafka, eventually, serving

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CUSTOMER = "cus-1001"  # the golden example's customer

RETAIN = {
    "strategy": "retain",
    "offer": "Payment plan over three months and 10% off the next renewal.",
    "value_minor": 8900,
    "currency": "EUR",
    "valid_until": "2026-03-15T23:59:59Z",
    "made_by": "emp-301",
}
TERMINATE = {
    "strategy": "terminate",
    "compensation_minor": 2500,
    "currency": "EUR",
    "reason": "repeated payment defaults",
    "decided_by": "emp-301",
}
ROUND = {
    "channel": "meeting",
    "participants": ["emp-301", "emp-302"],
    "outcome": "agreement_reached",
    "notes": "Both sides agreed on an orderly exit.",
}
EXIT = {
    "effective_date": "2026-03-31T23:59:59Z",
    "compensation_minor": 2000,
    "currency": "EUR",
    "terms": "Outstanding invoices settled by instalments; no further deliveries.",
    "agreed_by": "emp-301",
    "follow_up_until": "2026-06-30T23:59:59Z",
}


@pytest.fixture(name="offboarding_settings")
def offboarding_settings_fixture(make_settings: Callable[..., Any]) -> OffboardingSettings:
    settings: OffboardingSettings = make_settings(OffboardingSettings)
    return settings


@pytest.fixture(name="offboarding")
async def offboarding_fixture(offboarding_settings: OffboardingSettings) -> AsyncIterator[Any]:
    """The service in-process on the real wire protocols, its clock standing at NOW."""
    app = create_app(offboarding_settings, clock=ManualClock(NOW))
    async with serving(app) as client:
        yield client


def risk_record(
    event_id: str | None = None, risk_id: str | None = None, customer_id: str = CUSTOMER
) -> bytes:
    """The golden RiskDetected, optionally as another episode or for another customer."""
    golden = load_golden(RiskDetected)
    data = {**golden.data, "customer_id": customer_id}
    if risk_id is not None:
        data.update(risk_id=risk_id, category="market_competition", reasons=["competitor bid"])
    update = {"id": event_id or golden.id, "subject": customer_id, "data": data}
    return golden.model_copy(update=update).to_bytes()


async def send_risk(kafka: Kafka, ns: str, value: bytes, customer_id: str = CUSTOMER) -> None:
    await kafka.send(ns + RiskDetected.topic(), value, key=customer_id.encode())


async def cases_of(client: Any, customer_id: str = CUSTOMER) -> list[dict[str, Any]]:
    response = await client.get(f"/customers/{customer_id}/cases", headers=AGENT)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def wait_for_case(
    client: Any,
    accept: Callable[[list[dict[str, Any]]], bool] = bool,
    customer_id: str = CUSTOMER,
) -> list[dict[str, Any]]:
    found = await eventually(lambda: cases_of(client, customer_id), accept)
    assert accept(found), found
    return found


async def relayed(client: Any, model: type[EventData]) -> float:
    """Outbox metric: how many ``model`` events the relay has published to Kafka so far."""
    label = f'topic="{model.topic()}"'
    text = (await client.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("crm_outbox_published_total") and label in line
    )


async def published(
    kafka: Kafka, ns: str, *models: type[EventData], expected: int = 1, timeout: float = 30.0
) -> list[list[CloudEvent]]:
    """Each model's topic read from the start, concurrently (one group join for all)."""
    reads = [kafka.read(ns + m.topic(), expected=expected, timeout=timeout) for m in models]
    results = await asyncio.gather(*reads)
    return [[decode(r.value) for r in records] for records in results]
