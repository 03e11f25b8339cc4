"""Operators re-drive dead-lettered events once the cause is fixed (`crm-dlq replay`)."""

from __future__ import annotations

import pytest

from crm_contacts.app import create_app
from crm_contacts.settings import ContactsSettings
from crm_events.contacts import ContactLogged
from crm_runtime.dlq_cli import DlqSettings, list_records, replay_records
from tests.integration.records import contact
from tests.stack_fixture import service_kafka_settings
from tests.support import AGENT, SYSTEM, Kafka, eventually, serving

pytestmark = pytest.mark.integration


async def test_a_contact_dead_lettered_for_an_unknown_customer_is_replayed_after_the_fix(
    kafka: Kafka, ns: str, contacts_settings: ContactsSettings
) -> None:
    settings = contacts_settings.model_copy(update={"park_grace_s": 0})
    dlq = DlqSettings(
        kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
        kafka_topic_prefix=ns,
        **service_kafka_settings(),
    )
    async with serving(create_app(settings)) as client:
        await kafka.send(ns + ContactLogged.topic(), contact("cus-late", 1), key=b"cus-late")
        await kafka.read(ns + ContactLogged.topic() + ".dlq", expected=1)
        listed = await list_records(dlq, ContactLogged.topic(), limit=10)

        body = {"customer_id": "cus-late", "display_name": "Example", "owner_id": "emp-1"}
        assert (await client.post("/customers", json=body, headers=SYSTEM)).status_code == 201
        replayed = await replay_records(dlq, ContactLogged.topic(), 100, dry_run=False)
        replayed_again = await replay_records(dlq, ContactLogged.topic(), 100, dry_run=False)

        async def contact_ids() -> list[str]:
            page = await client.get("/customers/cus-late/timeline", headers=AGENT)
            return [i["entry_id"] for i in page.json()["items"] if i["kind"] == "contact"]

        applied = await eventually(contact_ids, lambda ids: len(ids) == 1)

    assert [dict(r.headers)["dlq-kind"] for r in listed] == [b"prerequisite-missing"]
    assert (replayed, replayed_again) == (1, 0)
    assert applied == ["evt-cus-late-1"]
