"""In-memory ContactsRepository for unit tests of the service layer (no I/O)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from crm_contacts.domain import Customer, TimelineEntry
from crm_events import CloudEvent
from crm_runtime.errors import Conflict


class InMemoryContactsRepository:
    def __init__(self) -> None:
        self.customers: dict[str, Customer] = {}
        self.registered_by: dict[str, str] = {}
        self.applied: dict[str, set[str]] = {}
        self.entries: dict[str, TimelineEntry] = {}
        self.outbox: list[CloudEvent] = []

    async def add_customer(
        self, customer: Customer, cause_id: str, outbox: Sequence[CloudEvent]
    ) -> bool:
        if customer.customer_id in self.customers:
            if self.registered_by[customer.customer_id] == cause_id:
                return False
            raise Conflict(f"customer {customer.customer_id} is already registered")
        self.customers[customer.customer_id] = copy.deepcopy(customer)
        self.registered_by[customer.customer_id] = cause_id
        self.outbox.extend(outbox)
        return True

    async def get_customer(self, customer_id: str) -> Customer | None:
        found = self.customers.get(customer_id)
        return copy.deepcopy(found) if found else None

    async def customer_exists(self, customer_id: str) -> bool:
        return customer_id in self.customers

    async def apply_change(
        self,
        customer_id: str,
        changes: dict[str, Any],
        cause_id: str,
        at: datetime,
        outbox: Sequence[CloudEvent],
        require: dict[str, Any] | None = None,
    ) -> bool:
        applied = self.applied.setdefault(customer_id, set())
        if customer_id not in self.customers or cause_id in applied:
            return False
        current = self.customers[customer_id]
        if any(getattr(current, name) != value for name, value in (require or {}).items()):
            return False
        self.customers[customer_id] = replace(current, **changes, version=current.version + 1)
        applied.add(cause_id)
        self.outbox.extend(outbox)
        return True

    async def add_entry(self, entry: TimelineEntry, outbox: Sequence[CloudEvent]) -> bool:
        if entry.entry_id in self.entries:
            return False
        self.entries[entry.entry_id] = entry
        self.outbox.extend(outbox)
        return True

    async def get_entry(self, entry_id: str) -> TimelineEntry | None:
        return self.entries.get(entry_id)

    async def timeline(
        self, customer_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[TimelineEntry]:
        mine = [e for e in self.entries.values() if e.customer_id == customer_id]
        mine.sort(key=lambda e: (e.occurred_at, e.entry_id), reverse=True)
        if before is not None:
            mine = [e for e in mine if (e.occurred_at, e.entry_id) < before]
        return mine[:limit]
