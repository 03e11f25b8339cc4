"""Runtime reliability through the contacts consumer: duplicates, malformed input, DLQ."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from crm_contacts.app import create_app
from crm_contacts.settings import ContactsSettings
from crm_events.contacts import ContactLogged, CustomerRegistered
from tests.integration.records import contact
from tests.support import SYSTEM, Kafka, consumed, eventually, serving

pytestmark = pytest.mark.integration
CUSTOMERS = [f"cus-{n}" for n in range(10)]


async def register_all(client: Any) -> None:
    for customer_id in CUSTOMERS:
        body = {"customer_id": customer_id, "display_name": "Example", "owner_id": "emp-1"}
        response = await client.post("/customers", json=body, headers=SYSTEM)
        assert response.status_code == 201, response.text


async def snapshot(mongo: AsyncMongoClient[dict[str, Any]], db: str) -> list[dict[str, Any]]:
    cursor = mongo[db]["timeline"].find({}, {"outbox": 0, "outbox_pending": 0, "outbox_rev": 0})
    return sorted([doc async for doc in cursor], key=lambda d: d["_id"])


async def test_the_same_500_events_twice_change_nothing(
    contacts: Any, kafka: Kafka, ns: str, mongo: Any, contacts_settings: ContactsSettings
) -> None:
    await register_all(contacts)
    batch = [(c.encode(), contact(c, n)) for n in range(50) for c in CUSTOMERS]
    topic = ns + ContactLogged.topic()

    await kafka.send_many(topic, batch)
    await eventually(lambda: consumed(contacts, "applied"), lambda v: v >= 500, timeout=120)
    first = await snapshot(mongo, contacts_settings.mongo_database)
    await kafka.send_many(topic, batch)
    await eventually(lambda: consumed(contacts, "duplicate"), lambda v: v >= 500, timeout=120)
    second = await snapshot(mongo, contacts_settings.mongo_database)

    assert len(first) == 500 + len(CUSTOMERS)  # contacts + one "registered" entry each
    assert second == first
    assert await consumed(contacts, "applied") == 500
    assert await consumed(contacts, "dead_lettered") == 0


def malformed(ns: str) -> list[tuple[str, bytes, str]]:
    """(topic, value, expected reason fragment) for every kind of unprocessable record."""
    topic = ns + ContactLogged.topic()
    good = json.loads(contact("cus-0", 0))

    def variant(**changes: Any) -> bytes:
        return json.dumps({**good, **changes}).encode()

    bad_data = {**good["data"], "channel": "pigeon"}
    kinds = [
        (topic, b"{not json", "not JSON"),
        (topic, b"[1, 2, 3]", "not a JSON object"),
        (topic, variant(id=None), "id"),
        (topic, variant(type="crm.contacts.teleported.v1"), "unknown event type"),
        (topic, variant(data=bad_data), "channel"),
        (topic, variant(type=CustomerRegistered.event_type()), "does not belong on topic"),
        (topic, variant(subject="cus-1"), "subject"),
        (
            topic,
            variant(subject="ghost", data={**good["data"], "customer_id": "ghost"}),
            "unknown customer ghost",
        ),
        (topic, variant(data={**good["data"], "summary": "x" * 40_000}), "exceeds limit"),
        (topic, b"", "not JSON"),
    ]
    return [(t, v, r) for t, v, r in kinds for _ in range(2)]


async def test_malformed_records_go_to_the_dlq_with_reasons_and_valid_ones_apply(
    infra: Any, kafka: Kafka, ns: str, mongo: Any, contacts_settings: ContactsSettings
) -> None:
    settings = contacts_settings.model_copy(update={"max_event_bytes": 20_000, "park_grace_s": 0})
    bad = malformed(ns)
    valid = [("cus-0", contact("cus-0", n)) for n in range(40)]
    interleaved: list[tuple[bytes | None, bytes]] = []
    for n, (key, value) in enumerate(valid):
        interleaved.append((key.encode(), value))
        if n % 2 == 0 and bad:
            _, value_bad, _ = bad[n // 2]
            interleaved.append((b"cus-0", value_bad))

    async with serving(create_app(settings)) as client:
        await register_all(client)
        await kafka.send_many(ns + ContactLogged.topic(), interleaved)
        dlq = await kafka.read(ns + ContactLogged.topic() + ".dlq", expected=20, timeout=60)
        await eventually(lambda: consumed(client, "applied"), lambda v: v >= 40)
        applied = await consumed(client, "applied")

    assert len(dlq) == 20
    reasons: dict[bytes | None, list[str]] = {}
    for record in dlq:
        reasons.setdefault(record.value, []).append(record.headers["dlq-reason"])
        assert record.headers["dlq-original-topic"] == ns + ContactLogged.topic()
        assert record.headers["dlq-consumer-group"] == settings.group_id
    for _, value, fragment in bad:
        reason = reasons[value].pop()
        assert fragment in reason, (fragment, reason)
    assert applied == 40
    timeline = await snapshot(mongo, settings.mongo_database)
    assert {d["_id"] for d in timeline if d["kind"] == "contact"} == {
        f"evt-cus-0-{n}" for n in range(40)
    }
