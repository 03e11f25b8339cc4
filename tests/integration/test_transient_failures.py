"""MongoDB goes away mid-stream: the consumer holds the record, retries with backoff,
reports not-ready, and applies it once the database is back. Nothing is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import pytest
from pydantic import SecretStr

from crm_contacts.app import create_app
from crm_contacts.settings import ContactsSettings
from crm_events.contacts import ContactLogged
from tests.integration.records import contact
from tests.proxy import CuttableProxy
from tests.support import AGENT, SYSTEM, Kafka, consumed, eventually, metric_total, serving

pytestmark = pytest.mark.integration


@pytest.fixture
async def proxy(infra: Any) -> AsyncIterator[CuttableProxy]:
    target = urlparse(infra.mongo_uri)
    relay = CuttableProxy(target.hostname or "127.0.0.1", target.port or 27017)
    await relay.start()
    yield relay
    await relay.cut()


async def test_database_outage_is_retried_not_dropped(
    infra: Any, kafka: Kafka, ns: str, proxy: CuttableProxy, contacts_settings: ContactsSettings
) -> None:
    through_proxy = infra.mongo_uri.replace(
        f"{urlparse(infra.mongo_uri).hostname}:{urlparse(infra.mongo_uri).port}",
        f"127.0.0.1:{proxy.port}",
    )
    settings = contacts_settings.model_copy(
        update={"mongo_uri": SecretStr(through_proxy), "mongo_timeout_ms": 500}
    )
    async with serving(create_app(settings)) as client:
        body = {"customer_id": "cus-0", "display_name": "Example", "owner_id": "emp-1"}
        assert (await client.post("/customers", json=body, headers=SYSTEM)).status_code == 201

        await proxy.cut()
        await kafka.send(ns + ContactLogged.topic(), contact("cus-0", 1), key=b"cus-0")
        retries = await eventually(
            lambda: metric_total(client, "crm_handler_retries_total", 'kind="transient"'),
            lambda n: n >= 2,
            timeout=60,
        )
        during = await client.get("/readyz")
        http_during = await client.get("/customers/cus-0", headers=AGENT)
        await proxy.restore()
        applied = await eventually(lambda: consumed(client, "applied"), lambda n: n >= 1)
        after = await eventually(
            lambda: client.get("/readyz"), lambda r: r.status_code == 200, timeout=30
        )
        timeline = (await client.get("/customers/cus-0/timeline", headers=AGENT)).json()
        dead_lettered = await consumed(client, "dead_lettered")

    assert retries >= 2
    assert during.status_code == 503
    assert "mongo" in during.json()["problems"]
    assert http_during.status_code == 503
    assert "retry later" in http_during.json()["detail"]
    assert applied >= 1
    assert after.status_code == 200
    assert [item["entry_id"] for item in timeline["items"] if item["kind"] == "contact"] == [
        "evt-cus-0-1"
    ]
    assert dead_lettered == 0
