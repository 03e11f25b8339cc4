"""In-memory LoyaltyRepository for unit tests of the service layer (no I/O)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from crm_events import CloudEvent
from crm_loyalty.domain import EARN, PENDING, REVERSE, Account, LedgerEntry


class SimulatedCrash(RuntimeError):
    """The process died just before this write (the write did not happen)."""


class InMemoryLoyaltyRepository:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.entries: dict[str, LedgerEntry] = {}
        self.outbox: list[CloudEvent] = []
        # Set to make the next N saves lose the version race (a concurrent writer).
        self.conflicts_to_simulate = 0
        # Names of writes (save_account, add_entry, finish_entry) to fail once each.
        self.crash_before: set[str] = set()

    def _crash_point(self, write: str) -> None:
        if write in self.crash_before:
            self.crash_before.discard(write)
            raise SimulatedCrash(write)

    async def add_account(self, account: Account, outbox: Sequence[CloudEvent]) -> bool:
        if account.customer_id in self.accounts:
            return False
        self.accounts[account.customer_id] = copy.deepcopy(account)
        self.outbox.extend(outbox)
        return True

    async def get_account(self, customer_id: str) -> Account | None:
        found = self.accounts.get(customer_id)
        return copy.deepcopy(found) if found else None

    async def save_account(
        self, account: Account, *, expected_version: int, outbox: Sequence[CloudEvent]
    ) -> bool:
        self._crash_point("save_account")
        stored = self.accounts.get(account.customer_id)
        if stored is None or stored.version != expected_version:
            return False
        if self.conflicts_to_simulate:
            self.conflicts_to_simulate -= 1
            stored.version += 1  # someone else wrote meanwhile
            return False
        self.accounts[account.customer_id] = copy.deepcopy(account)
        self.outbox.extend(outbox)
        return True

    async def add_entry(self, entry: LedgerEntry) -> LedgerEntry:
        self._crash_point("add_entry")
        return self.entries.setdefault(entry.entry_id, entry)

    async def get_entry(self, entry_id: str) -> LedgerEntry | None:
        return self.entries.get(entry_id)

    async def find_earn(self, customer_id: str, order_id: str) -> LedgerEntry | None:
        return next(
            (
                e
                for e in self.entries.values()
                if e.kind == EARN and e.customer_id == customer_id and e.order_id == order_id
            ),
            None,
        )

    async def reversals_of(self, earn_entry_id: str) -> list[LedgerEntry]:
        return [
            e for e in self.entries.values() if e.kind == REVERSE and e.reverses == earn_entry_id
        ]

    async def finish_entry(self, entry_id: str, state: str, note: str | None, at: datetime) -> None:
        self._crash_point("finish_entry")
        entry = self.entries.get(entry_id)
        if entry is not None and entry.state == PENDING:
            self.entries[entry_id] = replace(entry, state=state, note=note or entry.note)

    async def discard_entry(self, entry_id: str) -> None:
        entry = self.entries.get(entry_id)
        if entry is not None and entry.state == PENDING:
            del self.entries[entry_id]

    async def ledger(self, customer_id: str, *, limit: int) -> list[LedgerEntry]:
        mine = [e for e in self.entries.values() if e.customer_id == customer_id]
        mine.sort(key=lambda e: (e.recorded_at, e.entry_id), reverse=True)
        return mine[:limit]
