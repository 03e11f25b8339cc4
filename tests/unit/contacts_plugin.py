"""Fixtures for contacts' unit tests: the real wiring (``create_app``) over the in-memory
aggregate store, a manual clock, and deliveries that end as the consumer ends them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_contacts.app import create_app
from crm_contacts.service import ContactsService
from crm_contacts.settings import ContactsSettings
from crm_events import CloudEvent, EventData
from crm_runtime.clock import ManualClock
from tests.store_memory import InMemoryBackend
from tests.unit.delivery import deliver

CONTACTS_NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Contacts:
    service: ContactsService
    backend: InMemoryBackend
    clock: ManualClock
    runtime: Any

    async def deliver(self, event: CloudEvent) -> str:
        """``applied``/``duplicate``/``parked``, or ``dlq:<kind>: <reason>``."""
        return await deliver(self.runtime, event)

    def external(self, data: EventData) -> CloudEvent:
        return data.to_event(source="/call-centre", time=self.clock.now())

    def published(self) -> list[dict[str, Any]]:
        """Every event waiting in an outbox, in time order."""
        entries = [
            entry
            for collection in ("customers", "departures")
            for doc in self.backend.docs(collection).values()
            for entry in (doc.get("outbox") or {}).values()
        ]
        entries.sort(key=lambda e: (e["time"], e["seq"]))
        return [json.loads(e["value"]) for e in entries]

    def published_of(self, suffix: str) -> list[dict[str, Any]]:
        """The payloads of the published events whose type is ``crm.contacts.<suffix>.v1``."""
        wanted = f"crm.contacts.{suffix}.v1"
        return [e["data"] for e in self.published() if e["type"] == wanted]

    def kinds(self) -> list[str]:
        return sorted(doc["kind"] for doc in self.backend.docs("timeline").values())

    async def sweep(self) -> None:
        for sweeper in self.runtime.sweepers:
            if sweeper.name in ("customers", "departures"):
                await sweeper.sweep()


@pytest.fixture
def contacts() -> Contacts:
    backend = InMemoryBackend()
    clock = ManualClock(CONTACTS_NOW)
    app = create_app(ContactsSettings(), clock, store=backend)
    return Contacts(app.state.service, backend, clock, app.state.runtime)
