"""What the service layer needs from storage; Mongo and in-memory adapters implement it.

Every write names the event that caused it (idempotency) and may carry derived events,
stored in the same document write (the outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from crm_contacts.domain import Customer, TimelineEntry
from crm_events import CloudEvent


class ContactsRepository(Protocol):
    async def add_customer(
        self, customer: Customer, cause_id: str, outbox: Sequence[CloudEvent]
    ) -> bool:
        """Insert; False if ``cause_id`` registered it already; Conflict if another did."""
        ...

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def customer_exists(self, customer_id: str) -> bool: ...

    async def apply_change(
        self,
        customer_id: str,
        changes: dict[str, Any],
        cause_id: str,
        at: datetime,
        outbox: Sequence[CloudEvent],
        require: dict[str, Any] | None = None,
    ) -> bool:
        """Apply once per ``cause_id`` while the customer's fields equal ``require``;
        False when already applied (or the customer is not in the required state)."""
        ...

    async def add_entry(self, entry: TimelineEntry, outbox: Sequence[CloudEvent]) -> bool:
        """Insert keyed by ``entry.entry_id``; False when it exists already."""
        ...

    async def get_entry(self, entry_id: str) -> TimelineEntry | None: ...

    async def timeline(
        self, customer_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[TimelineEntry]:
        """Newest first; ``before`` is the (occurred_at, entry_id) of the last entry seen."""
        ...
