"""Cross-topic reordering: an event whose prerequisite is missing is parked, not lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_contacts.app import create_app
from crm_contacts.settings import ContactsSettings
from crm_events.contacts import ContactLogged
from crm_runtime.clock import ManualClock
from tests.integration.records import contact
from tests.support import AGENT, SYSTEM, Kafka, consumed, eventually, serving

pytestmark = pytest.mark.integration


async def test_contact_before_registration_waits_and_then_applies(
    contacts: Any, kafka: Kafka, ns: str, mongo: Any, contacts_settings: ContactsSettings
) -> None:
    await kafka.send(ns + ContactLogged.topic(), contact("cus-late", 1), key=b"cus-late")
    await eventually(lambda: consumed(contacts, "parked"), lambda v: v >= 1)

    body = {"customer_id": "cus-late", "display_name": "Example", "owner_id": "emp-1"}
    assert (await contacts.post("/customers", json=body, headers=SYSTEM)).status_code == 201

    async def kinds() -> list[str]:
        page = await contacts.get("/customers/cus-late/timeline", headers=AGENT)
        return [item["kind"] for item in page.json()["items"]]

    assert sorted(await eventually(kinds, lambda k: len(k) == 2)) == ["contact", "registered"]
    parked = mongo[contacts_settings.mongo_database]["parked_events"]
    assert await eventually(lambda: parked.count_documents({}), lambda n: n == 0) == 0


async def test_parked_event_is_dead_lettered_when_its_grace_period_ends(
    kafka: Kafka, ns: str, mongo: Any, contacts_settings: ContactsSettings
) -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    settings = contacts_settings.model_copy(update={"park_grace_s": 600})
    app = create_app(settings, clock=clock)
    async with serving(app) as client:
        await kafka.send(ns + ContactLogged.topic(), contact("ghost", 1), key=b"ghost")
        await eventually(lambda: consumed(client, "parked"), lambda v: v >= 1)
        clock.advance(timedelta(seconds=599))
        still_parked = await consumed(client, "unparked_dead_lettered")
        clock.advance(timedelta(seconds=2))
        dlq = await kafka.read(ns + ContactLogged.topic() + ".dlq", expected=1)

    assert still_parked == 0
    assert len(dlq) == 1
    assert dlq[0].headers["dlq-kind"] == "prerequisite-missing"
    assert "unknown customer ghost" in dlq[0].headers["dlq-reason"]
    assert dlq[0].value == contact("ghost", 1)
    parked = mongo[settings.mongo_database]["parked_events"]
    assert await eventually(lambda: parked.count_documents({}), lambda n: n == 0) == 0
