"""Fixtures and helpers of the loyalty integration tests (real Kafka and MongoDB protocols)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from crm_events import EventData, decode
from crm_events.examples import load_golden
from crm_loyalty.app import create_app
from crm_loyalty.settings import LoyaltySettings
from crm_runtime.clock import ManualClock
from tests.stack_fixture import consumer_timeouts
from tests.support import SYSTEM, Kafka, Record, eventually, serving

# Shortly after the golden examples' story (January-March 2025), so their times count.
START = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(name="loyalty_settings")
def loyalty_settings_fixture(make_settings: Callable[..., Any]) -> LoyaltySettings:
    settings: LoyaltySettings = make_settings(LoyaltySettings)
    return settings


@pytest.fixture(name="loyalty")
async def loyalty_fixture(loyalty_settings: LoyaltySettings) -> AsyncIterator[Any]:
    """The service on the system clock (parked events are retried in real time)."""
    async with serving(create_app(loyalty_settings)) as client:
        yield client


@pytest.fixture(name="clock")
def clock_fixture() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(name="loyalty_on_manual_clock")
async def loyalty_on_manual_clock_fixture(
    loyalty_settings: LoyaltySettings, clock: ManualClock
) -> AsyncIterator[Any]:
    """The service on a manual clock: timers fire when the test moves time."""
    async with serving(create_app(loyalty_settings, clock=clock)) as client:
        yield client


def golden_bytes(
    model: type[EventData], event_id: str, customer_id: str = "cus-1001", **data: Any
) -> bytes:
    """The committed golden example as another system would send it, with changes."""
    example = load_golden(model)
    payload = {**example.data, "customer_id": customer_id, **data}
    update = {"id": event_id, "subject": customer_id, "data": payload}
    return example.model_copy(update=update).to_bytes()


async def send(
    kafka: Kafka, ns: str, model: type[EventData], value: bytes, key: str = "cus-1001"
) -> None:
    await kafka.send(ns + model.topic(), value, key=key.encode())


async def get(client: Any, path: str) -> Any:
    response = await client.get(path, headers=SYSTEM)
    return response.json() if response.status_code == 200 else None


async def account_when(
    client: Any, customer_id: str, accept: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    found = await eventually(
        lambda: get(client, f"/accounts/{customer_id}"), lambda a: a is not None and accept(a)
    )
    assert found is not None, f"account {customer_id} never satisfied the condition"
    return dict(found)


async def outbox_drained(mongo: Any, settings: LoyaltySettings) -> None:
    """Wait until the relay has published everything the service stored so far."""
    accounts = mongo[settings.mongo_database]["accounts"]
    pending = await eventually(
        lambda: accounts.count_documents({"outbox_pending": {"$exists": True}}),
        lambda n: n == 0,
    )
    assert pending == 0


async def read_topics(
    bootstrap: str, topics: list[str], expected: int, *, timeout: float = 30.0
) -> dict[str, list[Record]]:
    """Read several topics from the start until ``expected`` records arrived, then poll once
    more so that an unexpected extra record would show up too."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"probe-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **consumer_timeouts(),
    )
    await consumer.start()
    found: dict[str, list[Record]] = {topic: [] for topic in topics}
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            had_enough = sum(map(len, found.values())) >= expected
            batch = await consumer.getmany(timeout_ms=1000 if had_enough else 500)
            for messages in batch.values():
                for m in messages:
                    headers = {k: v.decode() for k, v in m.headers}
                    found[m.topic].append(Record(m.topic, m.key, m.value, headers))
            if had_enough:  # that was the extra poll
                break
    finally:
        await consumer.stop()
    return found


def payloads(records: list[Record]) -> list[dict[str, Any]]:
    return [decode(r.value).data for r in records]
