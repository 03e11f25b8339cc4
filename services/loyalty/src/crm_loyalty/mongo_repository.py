"""MongoDB adapter of LoyaltyRepository — the only module here that knows pymongo."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from crm_events import CloudEvent
from crm_loyalty.codec import account_fields, account_from, entry_document, entry_from
from crm_loyalty.domain import EARN, PENDING, REVERSE, Account, LedgerEntry
from crm_runtime.mongo import OUTBOX_PENDING, Mutation, outbox_document
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.timestamps import stamp

_NOT_STORED = ("outbox", OUTBOX_PENDING, "outbox_rev")


class MongoLoyaltyRepository:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.accounts = db["accounts"]
        self.ledger_entries = db["ledger"]

    async def ensure_indexes(self) -> None:
        await self.accounts.create_indexes(
            [
                IndexModel([(NEXT_DUE_AT, ASCENDING)], name="due", sparse=True),
                IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
            ]
        )
        await self.ledger_entries.create_indexes(
            [
                # No "_id" in compound indexes: the MongoDB stand-in cannot index it.
                IndexModel(
                    [("customer_id", ASCENDING), ("recorded_at", DESCENDING)],
                    name="ledger_newest_first",
                ),
                IndexModel([("customer_id", ASCENDING), ("order_id", ASCENDING)], name="by_order"),
                IndexModel([("reverses", ASCENDING)], name="reversals", sparse=True),
            ]
        )

    # --- accounts ------------------------------------------------------------------------
    async def add_account(self, account: Account, outbox: Sequence[CloudEvent]) -> bool:
        fields = {k: v for k, v in account_fields(account).items() if v is not None}
        doc = {"_id": account.customer_id, **fields}
        try:
            await self.accounts.insert_one(outbox_document(doc, outbox))
        except DuplicateKeyError:
            return False
        return True

    async def get_account(self, customer_id: str) -> Account | None:
        projection = dict.fromkeys(_NOT_STORED, 0)
        doc = await self.accounts.find_one({"_id": customer_id}, projection)
        return account_from(doc) if doc is not None else None

    async def save_account(
        self, account: Account, *, expected_version: int, outbox: Sequence[CloudEvent]
    ) -> bool:
        # Outbox entries go in by dotted path: the relay may be removing published ones.
        mutation = Mutation().publish(outbox)
        for name, value in account_fields(account).items():
            if value is None:
                mutation.unset[name] = ""
            else:
                mutation.set[name] = value
        result = await self.accounts.update_one(
            {"_id": account.customer_id, "version": expected_version}, mutation.to_update()
        )
        return result.modified_count == 1

    # --- ledger --------------------------------------------------------------------------
    async def add_entry(self, entry: LedgerEntry) -> LedgerEntry:
        try:
            await self.ledger_entries.insert_one(entry_document(entry))
        except DuplicateKeyError:
            stored = await self.get_entry(entry.entry_id)
            if stored is None:  # deleted meanwhile (a refused redemption): try once more
                await self.ledger_entries.insert_one(entry_document(entry))
                return entry
            return stored
        return entry

    async def get_entry(self, entry_id: str) -> LedgerEntry | None:
        doc = await self.ledger_entries.find_one({"_id": entry_id})
        return entry_from(doc) if doc is not None else None

    async def find_earn(self, customer_id: str, order_id: str) -> LedgerEntry | None:
        doc = await self.ledger_entries.find_one(
            {"customer_id": customer_id, "order_id": order_id, "kind": EARN}
        )
        return entry_from(doc) if doc is not None else None

    async def reversals_of(self, earn_entry_id: str) -> list[LedgerEntry]:
        cursor = self.ledger_entries.find({"reverses": earn_entry_id, "kind": REVERSE})
        return [entry_from(doc) async for doc in cursor]

    async def finish_entry(self, entry_id: str, state: str, note: str | None, at: datetime) -> None:
        changes: dict[str, Any] = {"state": state, "finished_at": stamp(at)}
        if note is not None:
            changes["note"] = note
        await self.ledger_entries.update_one({"_id": entry_id, "state": PENDING}, {"$set": changes})

    async def discard_entry(self, entry_id: str) -> None:
        await self.ledger_entries.delete_one({"_id": entry_id, "state": PENDING})

    async def ledger(self, customer_id: str, *, limit: int) -> list[LedgerEntry]:
        cursor = self.ledger_entries.find(
            {"customer_id": customer_id},
            sort=[("recorded_at", DESCENDING), ("_id", DESCENDING)],
            limit=limit,
        )
        return [entry_from(doc) async for doc in cursor]
