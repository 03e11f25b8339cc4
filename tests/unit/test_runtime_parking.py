"""Parking without I/O: per-key sequences keep arrival order, release at once, survive
redelivery, and a database blip while parking is waited out, not a failed batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.examples import load_golden
from crm_runtime.clock import ManualClock
from crm_runtime.consumer import EventConsumer, arrival_order
from crm_runtime.dlq import DeadLetters
from crm_runtime.errors import MissingPrerequisite
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from tests.unit.consumer_rig import T0, FakePublisher, FakeRecord, Rig, record, rig
from tests.unit.parking_fake import MemoryParking

pytestmark = pytest.mark.unit


def registration(customer: str, offset: int) -> FakeRecord:
    golden = load_golden(CustomerRegistered)
    event = golden.model_copy(
        update={
            "id": f"reg-{customer}",
            "subject": customer,
            "data": {**golden.data, "customer_id": customer},
        }
    )
    return FakeRecord(CustomerRegistered.topic(), 0, offset, customer.encode(), event.to_bytes())


@dataclass
class Directory:
    """A contacts-like service: contacts need the customer; a summary in ``waits_for``
    needs something that has not arrived either."""

    known: set[str] = field(default_factory=set)
    waits_for: set[str] = field(default_factory=set)
    applied: list[tuple[str, str]] = field(default_factory=list)

    async def register(self, data: CustomerRegistered, event: CloudEvent) -> bool:
        self.known.add(data.customer_id)
        return True

    async def contact(self, data: ContactLogged, event: CloudEvent) -> bool:
        if data.customer_id not in self.known:
            raise MissingPrerequisite(f"contact logged for unknown customer {data.customer_id}")
        if data.summary in self.waits_for:
            raise MissingPrerequisite(f"contact {data.summary} waits for something else")
        self.applied.append((data.customer_id, data.summary))
        return True


def directory_rig(directory: Directory) -> Rig:
    return rig((CustomerRegistered, directory.register), (ContactLogged, directory.contact))


async def test_later_records_queue_behind_a_parked_one_and_follow_the_prerequisite() -> None:
    directory = Directory(known={"cus-2"})
    subject = directory_rig(directory)

    await subject.consumer.process_batch(
        [record("cus-1", n) for n in (1, 2)] + [record("cus-2", 1)]
    )
    await subject.consumer.process_batch([record("cus-1", 3), record("cus-1", 4)])
    parked = sorted(doc["position"] for doc in subject.parking.docs.values())
    await subject.consumer.process_batch([registration("cus-1", 50), record("cus-1", 5)])

    assert parked == [0, 1, 2, 3]
    assert directory.applied == [("cus-2", "1")] + [("cus-1", str(n)) for n in range(1, 6)]
    assert subject.parking.docs == {}
    assert (subject.outcomes("parked"), subject.outcomes("unparked_applied")) == (4, 4)


async def test_records_parked_and_released_within_one_batch_are_never_written() -> None:
    directory = Directory()
    subject = directory_rig(directory)
    batch = [record("cus-1", n) for n in range(1, 4)] + [registration("cus-1", 9)]

    await subject.consumer.process_batch(batch)

    assert directory.applied == [("cus-1", "1"), ("cus-1", "2"), ("cus-1", "3")]
    assert (subject.parking.writes, subject.outcomes("parked")) == (0, 3)


async def test_one_batch_parks_a_whole_sequence_in_one_write_with_a_due_head_only() -> None:
    subject = directory_rig(Directory())

    await subject.consumer.process_batch([record("cus-1", n) for n in range(1, 6)])

    docs = sorted(subject.parking.docs.values(), key=lambda d: d["position"])
    assert subject.parking.writes == 1
    assert [d["position"] for d in docs] == [0, 1, 2, 3, 4]
    assert ["next_due_at" in d for d in docs] == [True, False, False, False, False]
    assert {d["sequence"] for d in docs} == {"cus-1"}


async def test_a_prerequisite_from_another_path_is_found_by_the_next_record() -> None:
    directory = Directory()
    subject = directory_rig(directory)
    await subject.consumer.process_batch([record("cus-1", 1), record("cus-1", 2)])

    directory.known.add("cus-1")  # registered over HTTP, or by another instance
    await subject.consumer.process_batch([record("cus-1", 3)])

    assert directory.applied == [("cus-1", "1"), ("cus-1", "2"), ("cus-1", "3")]
    assert subject.parking.docs == {}


async def test_the_sweep_releases_a_sequence_whose_prerequisite_came_another_way() -> None:
    directory = Directory()
    subject = directory_rig(directory)
    await subject.consumer.process_batch([record("cus-1", n) for n in (1, 2, 3)])
    directory.known.add("cus-1")

    subject.clock.advance(timedelta(seconds=9))
    early = subject.parking.due_now(subject.clock.now())
    subject.clock.advance(timedelta(seconds=2))
    [head] = subject.parking.due_now(subject.clock.now())
    await subject.consumer.sequences.release_due(head, subject.clock.now())

    assert early == []
    assert directory.applied == [("cus-1", "1"), ("cus-1", "2"), ("cus-1", "3")]
    assert subject.parking.docs == {}


async def test_a_stuck_head_holds_its_followers_until_its_grace_ends_then_they_apply() -> None:
    directory = Directory(known={"cus-1"}, waits_for={"1"})
    subject = directory_rig(directory)
    await subject.consumer.process_batch([record("cus-1", 1)])
    directory.waits_for.add("2")  # the follower cannot apply on arrival either
    await subject.consumer.process_batch([record("cus-1", 2)])
    directory.waits_for.discard("2")  # its prerequisite arrives, but the head still waits

    subject.clock.advance(timedelta(minutes=30))
    [head] = subject.parking.due_now(subject.clock.now())
    await subject.consumer.sequences.release_due(head, subject.clock.now())
    held = list(directory.applied)
    subject.clock.advance(timedelta(minutes=31))
    [head] = subject.parking.due_now(subject.clock.now())
    await subject.consumer.sequences.release_due(head, subject.clock.now())

    assert held == []
    assert directory.applied == [("cus-1", "2")]
    [(topic, value, headers)] = subject.publisher.sent
    assert topic == ContactLogged.topic() + ".dlq"
    assert value == record("cus-1", 1).value
    assert headers["dlq-kind"] == "prerequisite-missing"
    assert "grace period ended" in headers["dlq-reason"]
    assert subject.parking.docs == {}


async def test_a_redelivered_batch_does_not_queue_a_parked_record_twice() -> None:
    directory = Directory()
    subject = directory_rig(directory)
    batch = [record("cus-1", 1), record("cus-1", 2)]

    await subject.consumer.process_batch(batch)
    await subject.consumer.process_batch(batch)  # the offsets were never committed
    stored = len(subject.parking.docs)
    await subject.consumer.process_batch([registration("cus-1", 9)])

    assert stored == 2
    assert directory.applied == [("cus-1", "1"), ("cus-1", "2")]


def test_a_keys_topics_merge_by_timestamp_and_each_partition_keeps_its_order() -> None:
    def at(topic: str, offset: int, timestamp: int) -> Any:
        rec = FakeRecord(topic, 0, offset, b"cus-1", b"{}")
        rec.timestamp = timestamp  # type: ignore[attr-defined]
        return rec

    purchases = [at("purchases", 0, 10), at("purchases", 1, 30), at("purchases", 2, 20)]
    registered = [at("registered", 0, 5), at("registered", 1, 25)]

    merged = arrival_order(purchases + registered)["cus-1"]

    assert [(r.topic[0], r.offset) for r in merged] == [
        ("r", 0),
        ("p", 0),
        ("r", 1),
        ("p", 1),
        ("p", 2),
    ]


class FlakyParking(MemoryParking):
    """Fails the first write with a connection error, like a MongoDB fail-over."""

    failures = 1

    async def store(self, docs: list[dict[str, Any]]) -> None:
        if self.failures:
            self.failures -= 1
            raise AutoReconnect("primary stepped down")
        await super().store(docs)


async def test_a_database_blip_while_parking_is_retried_not_raised() -> None:
    health = Health()
    metrics = Metrics("test")
    clock = ManualClock(T0)
    parking = FlakyParking(retry_every=timedelta(seconds=1), grace=timedelta(seconds=1))
    subject = EventConsumer(
        dead_letters=DeadLetters(FakePublisher(), group_id="g", clock=clock),
        parking=parking,
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

    assert [doc["value"].encode() for doc in parking.docs.values()] == [rec.value]
    assert health.degraded == {}
    outcome = metrics.consumed(topic=rec.topic, outcome="parked")
    assert outcome._value.get() == 1
