"""A consumer over fakes (records, DLQ publisher, parking in memory), shared by the unit
tests of the runtime's consumer, parking and business keys and by the services' parking
tests — a helper module, so test modules never import one another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_events import EventData
from crm_events.contacts import ContactLogged
from crm_events.examples import load_golden
from crm_runtime.clock import ManualClock
from crm_runtime.consumer import EventConsumer
from crm_runtime.dlq import DeadLetters
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from tests.unit.parking_fake import MemoryParking

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class FakeRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


class FakePublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    async def publish(
        self, value: bytes, topic: str, *, key: bytes | None, headers: dict[str, str]
    ) -> None:
        self.sent.append((topic, value, headers))


def consumer(publisher: FakePublisher, concurrency: int) -> EventConsumer:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    return EventConsumer(
        dead_letters=DeadLetters(publisher, group_id="g", clock=clock),
        parking=MemoryParking(retry_every=timedelta(1), grace=timedelta(1)),
        clock=clock,
        health=Health(),
        metrics=Metrics("test"),
        max_event_bytes=100_000,
        max_attempts_unexpected=1,
        backoff=(0.0, 0.0),
        concurrency=concurrency,
    )


def record(customer: str, n: int) -> FakeRecord:
    golden = load_golden(ContactLogged)
    data = {**golden.data, "customer_id": customer, "summary": f"{n}"}
    event = golden.model_copy(update={"id": f"{customer}-{n}", "subject": customer, "data": data})
    return FakeRecord(ContactLogged.topic(), 0, n, customer.encode(), event.to_bytes())


@dataclass
class Rig:
    parking: MemoryParking
    consumer: EventConsumer
    publisher: FakePublisher
    metrics: Metrics
    clock: ManualClock

    def outcomes(self, outcome: str) -> float:
        total = 0.0
        for metric in self.metrics.registry.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total") and sample.labels.get("outcome") == outcome:
                    total += sample.value
        return total


def rig(*handlers: tuple[type[EventData], Any], concurrency: int = 4) -> Rig:
    clock = ManualClock(T0)
    parking = MemoryParking(retry_every=timedelta(seconds=10), grace=timedelta(hours=1))
    publisher, metrics = FakePublisher(), Metrics("test")
    consumer = EventConsumer(
        dead_letters=DeadLetters(publisher, group_id="g", clock=clock),
        parking=parking,
        clock=clock,
        health=Health(),
        metrics=metrics,
        max_event_bytes=100_000,
        max_attempts_unexpected=1,
        backoff=(0.0, 0.0),
        concurrency=concurrency,
    )
    for model, handler in handlers:
        consumer.on(model, handler)
    return Rig(parking, consumer, publisher, metrics, clock)
