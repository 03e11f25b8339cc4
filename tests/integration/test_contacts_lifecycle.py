"""Contacts reacts to the end of a relationship: exiting on ExitAgreed, former at its date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crm_contacts.app import create_app
from crm_contacts.settings import ContactsSettings
from crm_events import decode
from crm_events.contacts import CustomerClassified
from crm_events.examples import load_golden
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    PersonalDataErased,
    PersonalDataErasureRequested,
    RelationshipEnded,
)
from crm_runtime.clock import ManualClock
from tests.support import AGENT, SYSTEM, Kafka, eventually, serving

pytestmark = pytest.mark.integration


def for_customer(model: Any, customer_id: str, event_id: str) -> bytes:
    golden = load_golden(model)
    data = {**golden.data, "customer_id": customer_id}
    update = {"id": event_id, "subject": customer_id, "data": data}
    return golden.model_copy(update=update).to_bytes()


async def lifecycle(client: Any, customer_id: str) -> str:
    return str((await client.get(f"/customers/{customer_id}", headers=AGENT)).json()["lifecycle"])


async def test_exit_agreed_then_effective_date_makes_a_former_customer(
    kafka: Kafka, ns: str, contacts_settings: ContactsSettings
) -> None:
    exit_event = decode(for_customer(ExitAgreed, "cus-7", "exit-1"))
    effective = exit_event.data["effective_date"]
    clock = ManualClock(exit_event.time - timedelta(days=1))  # registered the day before
    async with serving(create_app(contacts_settings, clock=clock)) as client:
        body = {"customer_id": "cus-7", "display_name": "Example", "owner_id": "emp-1"}
        assert (await client.post("/customers", json=body, headers=SYSTEM)).status_code == 201
        await kafka.send(ns + ExitAgreed.topic(), exit_event.to_bytes(), key=b"cus-7")
        await kafka.send(ns + ExitAgreed.topic(), exit_event.to_bytes(), key=b"cus-7")

        assert await eventually(lambda: lifecycle(client, "cus-7"), "exiting".__eq__) == "exiting"
        customer = (await client.get("/customers/cus-7", headers=AGENT)).json()
        clock.set(decode(exit_event.to_bytes()).time + timedelta(days=3650))
        assert await eventually(lambda: lifecycle(client, "cus-7"), "former".__eq__) == "former"
        timeline = (await client.get("/customers/cus-7/timeline", headers=AGENT)).json()
        published = await kafka.read(ns + CustomerClassified.topic(), expected=1)

    assert customer["exit_case_id"] == exit_event.data["case_id"]
    assert customer["exit_effective_at"].startswith(effective[:10])
    kinds = [item["kind"] for item in timeline["items"]]
    # The end and the classification it implies happen at the same moment, in either order.
    assert sorted(kinds[:2]) == ["classified", "relationship-ended"]
    assert kinds[2:] == ["exit-agreed", "registered"]
    assert len(published) == 1
    assert decode(published[0].value).data["classification"] == "churned"


async def test_customer_retained_clears_the_exit(contacts: Any, kafka: Kafka, ns: str) -> None:
    body = {"customer_id": "cus-8", "display_name": "Example", "owner_id": "emp-1"}
    assert (await contacts.post("/customers", json=body, headers=SYSTEM)).status_code == 201
    exit_ = decode(for_customer(ExitAgreed, "cus-8", "x-1"))
    later = {**exit_.data, "effective_date": "2100-01-01T00:00:00Z"}  # still exiting meanwhile
    exit_value = exit_.model_copy(update={"data": later}).to_bytes()
    await kafka.send(ns + ExitAgreed.topic(), exit_value, b"cus-8")
    await eventually(lambda: lifecycle(contacts, "cus-8"), "exiting".__eq__)

    retained = decode(for_customer(CustomerRetained, "cus-8", "r-0"))
    exit_case = load_golden(ExitAgreed).data["case_id"]
    for event_id, case_id in (("r-0", "obc-other"), ("r-1", exit_case)):
        # Only the retention of the case the customer is exiting under undoes the exit.
        data = {**retained.data, "case_id": case_id}
        value = retained.model_copy(update={"id": event_id, "data": data}).to_bytes()
        await kafka.send(ns + CustomerRetained.topic(), value, b"cus-8")

    assert await eventually(lambda: lifecycle(contacts, "cus-8"), "active".__eq__) == "active"
    timeline = (await contacts.get("/customers/cus-8/timeline", headers=AGENT)).json()
    assert [e["kind"] for e in timeline["items"]].count("retained") == 1
    customer = (await contacts.get("/customers/cus-8", headers=AGENT)).json()
    assert customer["exit_case_id"] is None


async def test_relationship_ended_then_erasure_leaves_no_personal_data_and_attests(
    kafka: Kafka, ns: str, contacts_settings: ContactsSettings
) -> None:
    ended = decode(for_customer(RelationshipEnded, "cus-8", "ended-1"))
    request = decode(for_customer(PersonalDataErasureRequested, "cus-8", "erase-1"))
    clock = ManualClock(ended.time - timedelta(days=1))
    async with serving(create_app(contacts_settings, clock=clock)) as client:
        body = {
            "customer_id": "cus-8",
            "display_name": "Example Person",
            "email": "person@example.com",
            "phone": "+49 30 1234567",
            "owner_id": "emp-1",
        }
        assert (await client.post("/customers", json=body, headers=SYSTEM)).status_code == 201
        call = {
            "channel": "phone",
            "direction": "inbound",
            "employee_id": "emp-1",
            "summary": "Asked for the final invoice to go to her private address",
            "occurred_at": (ended.time - timedelta(days=1)).isoformat(),
        }
        logged = await client.post("/customers/cus-8/contacts", json=call, headers=AGENT)
        assert logged.status_code == 201, logged.text
        await kafka.send(ns + RelationshipEnded.topic(), ended.to_bytes(), key=b"cus-8")
        assert await eventually(lambda: lifecycle(client, "cus-8"), "former".__eq__) == "former"
        for _ in range(2):  # a redelivery changes nothing
            await kafka.send(
                ns + PersonalDataErasureRequested.topic(), request.to_bytes(), key=b"cus-8"
            )
        [attestation] = await kafka.read(ns + PersonalDataErased.topic(), expected=1)
        customer = (await client.get("/customers/cus-8", headers=AGENT)).json()
        timeline = (await client.get("/customers/cus-8/timeline", headers=AGENT)).json()

    erased = decode(attestation.value)
    assert (erased.data["service"], erased.data["case_id"]) == ("contacts", "obc-8001")
    assert erased.data["records"] == 2
    assert (customer["display_name"], customer["email"], customer["phone"]) == (
        "[erased]",
        None,
        None,
    )
    assert customer["classification"] == "churned"  # the KPI facts stay
    contact = next(item for item in timeline["items"] if item["kind"] == "contact")
    assert contact["details"]["summary"] == "[erased]"
    assert contact["details"]["channel"] == "phone"
    assert "private address" not in str(timeline)
