"""Contacts service in-process against the real wire protocols: HTTP in, Kafka in and out."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events import decode
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.examples import load_golden
from tests.support import AGENT, SYSTEM, Kafka, eventually

pytestmark = pytest.mark.integration

CUSTOMER = {
    "customer_id": "cus-100",
    "display_name": "Example Customer",
    "email": "customer@example.com",
    "owner_id": "emp-1",
    "account_team": ["emp-2"],
}


def contact_event(ns_customer: str, event_id: str, minute: int = 0) -> bytes:
    golden = load_golden(ContactLogged)
    data = {**golden.data, "customer_id": ns_customer}
    data["occurred_at"] = f"2026-03-01T09:{minute:02d}:00+00:00"
    return golden.model_copy(
        update={"id": event_id, "subject": ns_customer, "data": data}
    ).to_bytes()


async def timeline(client: Any, customer_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/customers/{customer_id}/timeline", headers=AGENT, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_register_over_http_stores_and_publishes_registration(
    contacts: Any, kafka: Kafka, ns: str
) -> None:
    response = await contacts.post(
        "/customers", json=CUSTOMER, headers={**SYSTEM, "Idempotency-Key": "reg-1"}
    )
    retry = await contacts.post(
        "/customers", json=CUSTOMER, headers={**SYSTEM, "Idempotency-Key": "reg-1"}
    )

    assert response.status_code == 201, response.text
    assert retry.status_code == 201
    assert response.json()["classification"] == "potential"
    records = await kafka.read(ns + CustomerRegistered.topic(), expected=1)
    assert len(records) == 1
    event = decode(records[0].value)
    assert event.type == CustomerRegistered.event_type()
    assert records[0].key == b"cus-100"
    assert event.subject == "cus-100"
    assert event.correlationid == event.id
    assert records[0].headers["content-type"].startswith("application/cloudevents+json")
    entries = await timeline(contacts, "cus-100")
    assert [e["kind"] for e in entries] == ["registered"]


async def test_registering_a_taken_id_with_another_request_conflicts(contacts: Any) -> None:
    await contacts.post("/customers", json=CUSTOMER, headers=SYSTEM)
    again = await contacts.post("/customers", json=CUSTOMER, headers=SYSTEM)
    assert again.status_code == 409
    assert "already registered" in again.json()["detail"]


async def test_contact_logged_by_call_centre_reaches_timeline_once(
    contacts: Any, kafka: Kafka, ns: str
) -> None:
    await contacts.post("/customers", json=CUSTOMER, headers=SYSTEM)
    value = contact_event("cus-100", "cc-evt-1")

    await kafka.send(ns + ContactLogged.topic(), value, key=b"cus-100")
    await kafka.send(ns + ContactLogged.topic(), value, key=b"cus-100")

    entries = await eventually(lambda: timeline(contacts, "cus-100"), lambda items: len(items) >= 2)
    assert [e["kind"] for e in entries] == ["registered", "contact"]
    assert entries[1]["entry_id"] == "cc-evt-1"
    metrics = (await contacts.get("/metrics")).text
    await eventually(lambda: _metric(contacts, 'outcome="duplicate"'), lambda v: v >= 1.0)
    assert 'crm_events_consumed_total{outcome="applied"' in metrics


async def _metric(client: Any, needle: str) -> float:
    text = (await client.get("/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("crm_events_consumed_total") and needle in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_log_contact_over_http_publishes_contact_logged(
    contacts: Any, kafka: Kafka, ns: str
) -> None:
    await contacts.post("/customers", json=CUSTOMER, headers=SYSTEM)
    body = {
        "channel": "email",
        "direction": "outbound",
        "employee_id": "emp-1",
        "summary": "sent the renewal offer",
        "occurred_at": "2026-03-01T10:00:00Z",
    }

    response = await contacts.post("/customers/cus-100/contacts", json=body, headers=AGENT)

    assert response.status_code == 201, response.text
    records = await kafka.read(ns + ContactLogged.topic(), expected=1)
    event = decode(records[0].value)
    assert event.id == response.json()["entry_id"]
    assert event.data["channel"] == "email"


async def test_timeline_pages_newest_first(contacts: Any, kafka: Kafka, ns: str) -> None:
    await contacts.post("/customers", json=CUSTOMER, headers=SYSTEM)
    await kafka.send_many(
        ns + ContactLogged.topic(),
        [(b"cus-100", contact_event("cus-100", f"cc-{m}", m)) for m in range(7)],
    )
    await eventually(lambda: timeline(contacts, "cus-100", limit=200), lambda i: len(i) == 8)

    first = (await contacts.get("/customers/cus-100/timeline?limit=3", headers=AGENT)).json()
    second = (
        await contacts.get(
            f"/customers/cus-100/timeline?limit=3&before={first['next_cursor']}", headers=AGENT
        )
    ).json()

    contacts_only = [
        e["entry_id"] for e in first["items"] + second["items"] if e["kind"] == "contact"
    ]
    assert contacts_only[:5] == ["cc-6", "cc-5", "cc-4", "cc-3", "cc-2"]
    assert len({e["entry_id"] for e in first["items"] + second["items"]}) == 6


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({}, 401, "missing bearer"),
        ({"Authorization": "Bearer nope"}, 401, "unknown API key"),
    ],
)
async def test_api_requires_a_known_key(
    contacts: Any, headers: dict[str, str], status: int, reason: str
) -> None:
    response = await contacts.get("/customers/cus-100", headers=headers)
    assert response.status_code == status
    assert reason in response.json()["detail"]


async def test_bad_requests_get_clear_reasons(contacts: Any) -> None:
    missing = await contacts.get("/customers/nobody", headers=AGENT)
    invalid = await contacts.post("/customers", json={"display_name": ""}, headers=AGENT)
    unknown_field = await contacts.post(
        "/customers", json={**CUSTOMER, "shoe_size": 44}, headers=AGENT
    )
    contact_unknown = await contacts.post(
        "/customers/nobody/contacts",
        json={
            "channel": "phone",
            "direction": "inbound",
            "employee_id": "emp-1",
            "summary": "hello",
            "occurred_at": "2026-03-01T10:00:00Z",
        },
        headers=AGENT,
    )

    assert missing.status_code == 404
    assert missing.json()["detail"] == "customer nobody not found"
    assert invalid.status_code == 422
    assert "body.owner_id: Field required" in invalid.json()["detail"]
    fields = {tuple(err["loc"]) for err in invalid.json()["errors"]}
    assert ("body", "owner_id") in fields
    assert unknown_field.status_code == 422
    assert contact_unknown.status_code == 404


async def test_health_readiness_and_docs(contacts: Any) -> None:
    assert (await contacts.get("/healthz")).json() == {"status": "alive"}
    ready = await contacts.get("/readyz")
    assert ready.status_code == 200, ready.text
    openapi = (await contacts.get("/openapi.json")).json()
    assert "/customers/{customer_id}/timeline" in openapi["paths"]
    asyncapi = (await contacts.get("/asyncapi.json")).json()
    assert asyncapi["asyncapi"].startswith("3.")
    assert asyncapi["operations"]["crm.contacts.contact-logged.send"]["action"] == "send"
    assert asyncapi["operations"]["crm.contacts.contact-logged.receive"]["action"] == "receive"
    assert "crm.contacts.contact-logged.dlq" in asyncapi["channels"]
