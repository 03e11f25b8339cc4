"""The outbox relay against the real MongoDB protocol: order, and no entry stranded when a
writer adds events while the relay is publishing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged
from crm_events.examples import load_golden
from crm_runtime.dlq import OutgoingRecord
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from crm_runtime.mongo import (
    OUTBOX,
    OUTBOX_PENDING,
    CommandCounter,
    Mutation,
    connect,
    outbox_document,
)
from crm_runtime.outbox import OutboxRelay

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def event(event_id: str) -> CloudEvent:
    return load_golden(ContactLogged).model_copy(update={"id": event_id, "time": T0})


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.during_publish: Any = None

    async def publish_all(self, records: Sequence[OutgoingRecord]) -> None:
        for record in records:
            self.sent.append(CloudEvent.model_validate_json(record.value).id)
            if self.during_publish is not None:
                action, self.during_publish = self.during_publish, None
                await action()


@pytest.fixture
async def docs(infra: Any, ns: str) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_uri, tz_aware=True)
    collection = client[f"outbox_{ns.strip('.')}"]["docs"]
    yield collection
    await client.drop_database(collection.database.name)
    await client.close()


def relay(docs: Any, publisher: RecordingPublisher) -> OutboxRelay:
    return OutboxRelay([docs], publisher, metrics=Metrics("t"), health=Health(), poll_interval_s=1)


async def test_events_of_one_write_go_out_in_the_order_they_were_stored(docs: Any) -> None:
    # Same time, ids that sort the other way round: only the stored position orders them.
    stored = [event("evt-c-breach"), event("evt-b-escalation"), event("evt-a-notice")]
    await docs.insert_one(outbox_document({"_id": "doc-1"}, stored))
    publisher = RecordingPublisher()

    published = await relay(docs, publisher).flush()

    assert publisher.sent == ["evt-c-breach", "evt-b-escalation", "evt-a-notice"]
    assert published == 3
    assert await docs.find_one({"_id": "doc-1"}) == {"_id": "doc-1", OUTBOX: {}, "outbox_rev": 1}


async def test_an_event_added_while_publishing_is_not_stranded(docs: Any) -> None:
    await docs.insert_one(outbox_document({"_id": "doc-1"}, [event("evt-1")]))
    publisher = RecordingPublisher()
    subject = relay(docs, publisher)

    async def concurrent_writer() -> None:
        later = Mutation().publish([event("evt-2")])
        await docs.update_one({"_id": "doc-1"}, later.to_update())

    publisher.during_publish = concurrent_writer
    await subject.flush()
    after_first = await docs.find_one({"_id": "doc-1"})
    await subject.flush()
    after_second = await docs.find_one({"_id": "doc-1"})

    assert after_first is not None
    assert set(after_first[OUTBOX]) == {"evt-2"}
    assert after_first[OUTBOX_PENDING] == 1
    assert publisher.sent == ["evt-1", "evt-2"]
    assert after_second == {"_id": "doc-1", OUTBOX: {}, "outbox_rev": 2}


async def test_a_round_is_acknowledged_with_one_write_whatever_its_size(
    infra: Any, ns: str
) -> None:
    metrics = Metrics("t")
    client = connect(
        infra.mongo_uri,
        timeout_ms=5000,
        app_name="t",
        listeners=[CommandCounter(metrics.mongo_commands)],
    )
    docs = client[f"outbox_{ns.strip('.')}"]["docs"]
    try:
        await docs.insert_many(
            [outbox_document({"_id": f"doc-{n}"}, [event(f"evt-{n}")]) for n in range(20)]
        )
        publisher = RecordingPublisher()

        published = await relay(docs, publisher).flush()
        left = await docs.count_documents({OUTBOX_PENDING: {"$exists": True}})
    finally:
        await client.drop_database(docs.database.name)
        await client.close()

    assert published == 20
    assert sorted(publisher.sent) == sorted(f"evt-{n}" for n in range(20))
    assert left == 0
    writes = metrics.registry.get_sample_value(
        "crm_mongo_commands_total", {"command": "update", "collection": "docs"}
    )
    assert writes == 1  # one bulk write for the 20 documents, not one each
