"""EventConsumer without I/O: per-key order under concurrency, DLQ routing of bad input."""

from __future__ import annotations

import asyncio
import random

import pytest

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged
from tests.unit.consumer_rig import FakePublisher, FakeRecord, consumer, record

pytestmark = pytest.mark.unit


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
