"""EventConsumer without I/O: per-key order under concurrency, DLQ routing of bad input."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged
from crm_events.examples import load_golden
from crm_runtime.clock import ManualClock
from crm_runtime.consumer import EventConsumer
from crm_runtime.dlq import DeadLetters
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from tests.unit.parking_fake import MemoryParking

pytestmark = pytest.mark.unit


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


async def test_each_customer_keeps_its_order_while_customers_run_concurrently() -> None:
    seen: list[tuple[str, int]] = []
    in_flight, peak = 0, 0

    async def handler(data: ContactLogged, event: CloudEvent) -> bool:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(random.uniform(0, 0.002))
        seen.append((data.customer_id, int(data.summary)))
        in_flight -= 1
        return True

    subject = consumer(FakePublisher(), concurrency=4)
    subject.on(ContactLogged, handler)
    records = [record(f"cus-{c}", n) for n in range(20) for c in range(6)]

    await subject.process_batch(records)

    assert len(seen) == len(records)
    for c in range(6):
        assert [n for who, n in seen if who == f"cus-{c}"] == list(range(20))
    assert 1 < peak <= 4


async def test_unreadable_records_are_dead_lettered_and_the_rest_applied() -> None:
    applied: list[str] = []

    async def handler(data: ContactLogged, event: CloudEvent) -> bool:
        applied.append(event.id)
        return True

    publisher = FakePublisher()
    subject = consumer(publisher, concurrency=1)
    subject.on(ContactLogged, handler)
    bad = FakeRecord(ContactLogged.topic(), 0, 99, b"cus-1", b"{oops")

    await subject.process_batch([record("cus-1", 0), bad, record("cus-1", 1)])

    assert applied == ["cus-1-0", "cus-1-1"]
    [(topic, value, headers)] = publisher.sent
    assert topic == ContactLogged.topic() + ".dlq"
    assert value == b"{oops"
    assert headers["dlq-kind"] == "envelope"
    assert headers["dlq-reason"].startswith("value is not JSON")
    assert headers["dlq-original-offset"] == "99"
