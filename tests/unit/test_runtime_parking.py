"""Parking without I/O: a database blip while parking is waited out, not a failed batch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged
from crm_runtime.clock import ManualClock
from crm_runtime.consumer import EventConsumer
from crm_runtime.dlq import DeadLetters
from crm_runtime.errors import MissingPrerequisite
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from tests.unit.test_runtime_consumer import FakePublisher, record

pytestmark = pytest.mark.unit


class FlakyParking:
    """Fails the first park with a connection error, like a MongoDB fail-over."""

    def __init__(self) -> None:
        self.parked: list[Any] = []
        self.failures = 1

    async def park(self, rec: Any, reason: str, now: datetime) -> None:
        if self.failures:
            self.failures -= 1
            raise AutoReconnect("primary stepped down")
        self.parked.append(rec)


async def test_a_database_blip_while_parking_is_retried_not_raised() -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    parking = FlakyParking()
    health = Health()
    metrics = Metrics("test")
    subject = EventConsumer(
        dead_letters=DeadLetters(FakePublisher(), group_id="g", clock=clock),
        parking=parking,  # type: ignore[arg-type]
        clock=clock,
        health=health,
        metrics=metrics,
        max_event_bytes=100_000,
        max_attempts_unexpected=1,
        backoff=(0.0, 0.0),
    )

    async def handler(data: ContactLogged, event: CloudEvent) -> bool:
        raise MissingPrerequisite(f"unknown customer {data.customer_id}")

    subject.on(ContactLogged, handler)
    rec = record("cus-1", 1)
    await subject.process_batch([rec])

    assert parking.parked == [rec]
    assert health.degraded == {}
    outcome = metrics.consumed(topic=rec.topic, outcome="parked")
    assert outcome._value.get() == 1
