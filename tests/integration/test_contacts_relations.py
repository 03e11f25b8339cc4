"""Contacts on the real wire protocols: a staff departure hands every account over (with
duplicates under both ids), purchases classify (parked before the registration), and the
directory and per-employee queries page through MongoDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events import EventData, decode
from crm_events.contacts import (
    AccountOwnerChanged,
    CustomerClassified,
    CustomerRegistered,
    EmployeeHandoverCompleted,
)
from crm_events.examples import load_golden
from crm_events.inbound import EmployeeDeparted, PurchaseRecorded
from tests.support import AGENT, MANAGER, SYSTEM, Kafka, eventually

pytestmark = pytest.mark.integration


def event_bytes(model: type[EventData], event_id: str, subject: str, **data: Any) -> bytes:
    golden = load_golden(model)
    payload = {**golden.data, **data}
    return golden.model_copy(
        update={"id": event_id, "subject": subject, "data": payload}
    ).to_bytes()


async def register(client: Any, customer_id: str, owner: str, name: str = "Example") -> None:
    body = {"customer_id": customer_id, "display_name": name, "owner_id": owner}
    assert (await client.post("/customers", json=body, headers=SYSTEM)).status_code == 201


async def owned(client: Any, employee: str) -> list[str]:
    page = (await client.get(f"/employees/{employee}/accounts", headers=AGENT)).json()
    return sorted(item["customer_id"] for item in page["items"])


async def test_a_departure_over_kafka_leaves_nothing_with_the_leaver(
    contacts: Any, kafka: Kafka, ns: str
) -> None:
    for n in range(6):
        await register(contacts, f"dep-{n}", "emp-leaver")
    team = {"members": {"emp-deputy": "deputy"}}
    assert (await contacts.put("/customers/dep-0/team", json=team, headers=MANAGER)).is_success
    await register(contacts, "dep-seat", "emp-other")
    seat = {"members": {"emp-leaver": "sales"}}
    assert (await contacts.put("/customers/dep-seat/team", json=seat, headers=MANAGER)).is_success
    refused = await contacts.put("/customers/dep-0/team", json=team, headers=AGENT)
    assert refused.status_code == 403

    topic = ns + EmployeeDeparted.topic()
    departed = {"employee_id": "emp-leaver", "successor_id": None}
    first = event_bytes(EmployeeDeparted, "hr-1", "emp-leaver", **departed)
    again = event_bytes(EmployeeDeparted, "hr-2", "emp-leaver", **departed)  # HR's retry
    for value in (first, first, again):
        await kafka.send(topic, value, key=b"emp-leaver")

    assert await eventually(lambda: owned(contacts, "emp-leaver"), [].__eq__) == []
    record = await eventually(
        lambda: contacts.get("/departures/emp-leaver", headers=AGENT),
        lambda r: r.status_code == 200 and r.json()["handed_over"]["accounts"] == 6,
    )
    assert record.json()["handed_over"] == {"accounts": 6, "team_seats": 1}
    assert await owned(contacts, "emp-deputy") == ["dep-0"]
    assert len(await owned(contacts, "account-pool")) == 5
    moves = await kafka.read(ns + AccountOwnerChanged.topic(), expected=6)
    assert {decode(m.value).data["reason"] for m in moves} == {"employee_departed"}
    summaries = await kafka.read(ns + EmployeeHandoverCompleted.topic(), expected=1)
    assert decode(summaries[0].value).data["accounts_reassigned"] == 6
    assert (await contacts.get("/departures/emp-stays", headers=AGENT)).status_code == 404


async def test_an_account_registered_later_for_the_leaver_follows_the_rule(
    contacts: Any, kafka: Kafka, ns: str
) -> None:
    departed = {"employee_id": "emp-gone", "successor_id": "emp-next"}
    value = event_bytes(EmployeeDeparted, "hr-3", "emp-gone", **departed)
    await kafka.send(ns + EmployeeDeparted.topic(), value, key=b"emp-gone")
    await eventually(
        lambda: contacts.get("/departures/emp-gone", headers=AGENT), lambda r: r.is_success
    )
    registered = event_bytes(
        CustomerRegistered, "reg-late", "late-1", customer_id="late-1", owner_id="emp-gone"
    )
    await kafka.send(ns + CustomerRegistered.topic(), registered, key=b"late-1")

    assert await eventually(lambda: owned(contacts, "emp-next"), ["late-1"].__eq__)
    busy = await contacts.put(
        "/customers/late-1/owner", json={"owner_id": "emp-gone"}, headers=MANAGER
    )
    assert busy.status_code == 409


async def test_a_purchase_before_the_registration_waits_then_classifies(
    contacts: Any, kafka: Kafka, ns: str
) -> None:
    # Recent, so no inactivity rule (180 days without a purchase) can fire during the test;
    # the golden example's 2025 date made the test race the churn timer.
    recent = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    purchase = {"customer_id": "buy-1", "order_id": "ord-77", "purchased_at": recent}
    await kafka.send(
        ns + PurchaseRecorded.topic(),
        event_bytes(PurchaseRecorded, "po-1", "buy-1", **purchase),
        key=b"buy-1",
    )
    await kafka.send(  # the order system's retry under a new id: the same fact
        ns + PurchaseRecorded.topic(),
        event_bytes(PurchaseRecorded, "po-2", "buy-1", **purchase),
        key=b"buy-1",
    )
    await register(contacts, "buy-1", "emp-seller")

    async def customer() -> dict[str, Any]:
        return dict((await contacts.get("/customers/buy-1", headers=AGENT)).json())

    found = await eventually(customer, lambda c: c["classification"] == "new")
    assert found["purchase_count"] == 1
    assert found["follow_up"]["owner_id"] == "emp-seller"
    classified = await kafka.read(ns + CustomerClassified.topic(), expected=1)
    assert decode(classified[0].value).data["reason"] == "new: first purchase"
    queue = (await contacts.get("/owners/emp-seller/follow-ups?state=due", headers=AGENT)).json()
    assert [c["customer_id"] for c in queue["items"]] == ["buy-1"]


async def test_the_directory_pages_with_a_cursor_and_filters(contacts: Any) -> None:
    for n in range(5):
        await register(contacts, f"dir-{n}", "emp-dir", name=f"Zeta {n}")
    await register(contacts, "dir-x", "emp-dir", name="Alpha")
    tags = {"tags": ["key-account"]}
    assert (await contacts.put("/customers/dir-3/tags", json=tags, headers=MANAGER)).is_success

    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"owner_id": "emp-dir", "name_prefix": "zeta", "limit": 2}
        if cursor:
            query["after"] = cursor
        page = (await contacts.get("/customers", params=query, headers=AGENT)).json()
        seen += [c["customer_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"dir-{n}" for n in range(5)]
    assert len(seen) == len(set(seen))
    tagged = (await contacts.get("/customers?tag=key-account", headers=AGENT)).json()
    assert [c["customer_id"] for c in tagged["items"]] == ["dir-3"]
    bad = await contacts.get("/customers?after=bm90LWEtY3Vyc29y", headers=AGENT)
    assert bad.status_code == 422
