"""The contacts service as its own process, driven only through Kafka and HTTP."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from crm_events import decode
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.examples import load_golden
from tests.processes import ServiceProcess
from tests.stack_fixture import service_kafka_settings
from tests.support import API_KEYS, SYSTEM, Kafka, eventually, namespace

pytestmark = pytest.mark.e2e
CUSTOMERS = [f"cus-{n}" for n in range(5)]


def settings(infra: Any, ns: str) -> dict[str, Any]:
    return {
        "kafka_bootstrap_servers": infra.kafka_bootstrap,
        "mongo_uri": infra.mongo_uri,
        "mongo_database": f"contacts_{ns.strip('.')}",
        "kafka_topic_prefix": ns,
        **service_kafka_settings(),
        "api_keys": json.dumps(API_KEYS),
        "consumer_batch_size": 50,
        "outbox_poll_interval_s": 0.2,
        "park_retry_s": 0.3,
        "sweep_interval_s": 0.2,
        "log_level": "INFO",
    }


def registration(customer_id: str) -> bytes:
    golden = load_golden(CustomerRegistered)
    data = {**golden.data, "customer_id": customer_id}
    return golden.model_copy(
        update={
            "id": f"reg-{customer_id}",
            "source": "/erp/customers",
            "subject": customer_id,
            "data": data,
        }
    ).to_bytes()


def contact(customer_id: str, n: int) -> bytes:
    golden = load_golden(ContactLogged)
    data = {**golden.data, "customer_id": customer_id, "summary": f"call {n}"}
    data["occurred_at"] = f"2026-03-01T{n // 60:02d}:{n % 60:02d}:00+00:00"
    return golden.model_copy(
        update={
            "id": f"evt-{customer_id}-{n}",
            "source": "/call-centre",
            "subject": customer_id,
            "data": data,
        }
    ).to_bytes()


@pytest.fixture
async def kafka(infra: Any) -> AsyncIterator[Kafka]:
    async with Kafka(infra.kafka_bootstrap) as client:
        yield client


async def stored_contacts(mongo: AsyncMongoClient[dict[str, Any]], db: str) -> list[dict[str, Any]]:
    cursor = mongo[db]["timeline"].find({"kind": "contact"})
    return sorted([doc async for doc in cursor], key=lambda d: d["_id"])


async def test_external_systems_drive_contacts_over_kafka_and_http(
    infra: Any, kafka: Kafka
) -> None:
    ns = namespace()
    service = ServiceProcess("contacts", "crm_contacts", settings(infra, ns))
    await service.start()
    try:
        for customer_id in CUSTOMERS:
            await kafka.send(
                ns + CustomerRegistered.topic(), registration(customer_id), customer_id.encode()
            )
        await kafka.send_many(
            ns + ContactLogged.topic(),
            [(c.encode(), contact(c, n)) for c in CUSTOMERS for n in range(3)],
        )
        async with httpx.AsyncClient(base_url=service.url, headers=SYSTEM) as http:

            async def customer_status() -> int:
                return (await http.get("/customers/cus-0")).status_code

            assert await eventually(customer_status, lambda code: code == 200) == 200
            logged = await http.post(
                "/customers/cus-0/contacts",
                json={
                    "channel": "meeting",
                    "direction": "outbound",
                    "employee_id": "emp-5",
                    "summary": "quarterly review",
                    "occurred_at": "2026-03-02T10:00:00Z",
                },
            )
            assert logged.status_code == 201, logged.text

            async def page() -> list[dict[str, Any]]:
                response = await http.get("/customers/cus-0/timeline")
                return list(response.json().get("items", []))

            items = await eventually(page, lambda i: len(i) == 5)
        assert [i["kind"] for i in items] == ["contact"] * 4 + ["registered"]
        assert items[0]["details"]["summary"] == "quarterly review"
        published = await kafka.read(ns + ContactLogged.topic(), expected=16)
        ours = [decode(r.value) for r in published if decode(r.value).source == "/crm/contacts"]
        assert [e.id for e in ours] == [logged.json()["entry_id"]]
    finally:
        assert service.stop() in (0, -signal.SIGTERM)
    assert '"event": "service_stopped"' in service.log_path.read_text()


async def test_sigkill_mid_stream_then_restart_ends_in_the_uninterrupted_state(
    infra: Any, kafka: Kafka
) -> None:
    ns = namespace()
    config = settings(infra, ns)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_uri, tz_aware=True)
    db = config["mongo_database"]
    events = [(c.encode(), contact(c, n)) for n in range(100) for c in CUSTOMERS]
    service = ServiceProcess("contacts", "crm_contacts", config)
    await service.start()
    try:
        for customer_id in CUSTOMERS:
            await kafka.send(
                ns + CustomerRegistered.topic(), registration(customer_id), customer_id.encode()
            )
        # Registered first: with contacts' 17 topics a fetch may bring the contacts before
        # the registrations; parked, they would all be released at once — no "mid-stream".
        await eventually(
            lambda: mongo[db]["customers"].count_documents({}), lambda n: n == len(CUSTOMERS)
        )
        await kafka.send_many(ns + ContactLogged.topic(), events)
        partial = await eventually(
            lambda: mongo[db]["timeline"].count_documents({"kind": "contact"}),
            lambda n: n >= 50,
        )
        service.kill()
        assert 50 <= partial < len(events), "the kill must land mid-stream"
        await service.start()
        final = await eventually(lambda: stored_contacts(mongo, db), lambda d: len(d) >= 500)
    finally:
        service.stop()
        await mongo.close()

    expected = sorted(
        (json.loads(value)["id"], json.loads(value)["data"]["summary"]) for _, value in events
    )
    assert [(d["_id"], d["details"]["summary"]) for d in final] == expected
