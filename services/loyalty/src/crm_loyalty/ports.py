"""What the service layer needs from storage; Mongo and in-memory adapters implement it.

The account is written whole with optimistic concurrency (its ``version``), carrying the
derived events of the change in the same write (the outbox). Ledger entries are their own
documents whose ids derive from the source event, written before the account change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from crm_events import CloudEvent
from crm_loyalty.domain import Account, LedgerEntry


class LoyaltyRepository(Protocol):
    async def add_account(self, account: Account, outbox: Sequence[CloudEvent]) -> bool:
        """Insert; False when an account for the customer exists already."""
        ...

    async def get_account(self, customer_id: str) -> Account | None: ...

    async def save_account(
        self, account: Account, *, expected_version: int, outbox: Sequence[CloudEvent]
    ) -> bool:
        """Replace the stored account if its version is still ``expected_version``
        (``account.version`` is already the next one); False when someone else wrote first."""
        ...

    async def add_entry(self, entry: LedgerEntry) -> LedgerEntry:
        """Insert keyed by ``entry.entry_id``; on a duplicate id return the stored entry."""
        ...

    async def get_entry(self, entry_id: str) -> LedgerEntry | None: ...

    async def find_earn(self, customer_id: str, order_id: str) -> LedgerEntry | None:
        """The earn entry of an order (one per order)."""
        ...

    async def reversals_of(self, earn_entry_id: str) -> list[LedgerEntry]: ...

    async def finish_entry(self, entry_id: str, state: str, note: str | None, at: datetime) -> None:
        """Move a pending entry to posted/ignored (no-op when it is no longer pending)."""
        ...

    async def discard_entry(self, entry_id: str) -> None:
        """Delete a pending entry the account never took (a refused redemption)."""
        ...

    async def ledger(self, customer_id: str, *, limit: int) -> list[LedgerEntry]:
        """Newest first."""
        ...
