"""MongoDB adapter of ContactsRepository — the only module here that knows pymongo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from crm_contacts.domain import EXITING, Customer, TimelineEntry
from crm_events import CloudEvent
from crm_runtime.errors import Conflict
from crm_runtime.mongo import OUTBOX_PENDING, Mutation, not_yet_applied, outbox_document
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.timestamps import stamp, stamp_values, unstamp, unstamp_optional

_CUSTOMER_FIELDS = tuple(Customer.__dataclass_fields__)


class MongoContactsRepository:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.customers = db["customers"]
        self.timeline_entries = db["timeline"]

    async def ensure_indexes(self) -> None:
        await self.timeline_entries.create_indexes(
            [
                # No "_id" in compound indexes: the MongoDB stand-in cannot index it.
                IndexModel(
                    [("customer_id", ASCENDING), ("occurred_at", DESCENDING)],
                    name="timeline_newest_first",
                ),
                IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
            ]
        )
        await self.customers.create_indexes(
            [
                IndexModel([("owner_id", ASCENDING)], name="by_owner"),
                IndexModel([(NEXT_DUE_AT, ASCENDING)], name="due", sparse=True),
                IndexModel([(OUTBOX_PENDING, ASCENDING)], name="outbox_pending", sparse=True),
            ]
        )

    async def add_customer(
        self, customer: Customer, cause_id: str, outbox: Sequence[CloudEvent]
    ) -> bool:
        doc = stamp_values(asdict(customer))
        doc["_id"] = doc.pop("customer_id")
        doc["registered_by"] = cause_id
        try:
            await self.customers.insert_one(outbox_document(doc, outbox))
        except DuplicateKeyError:
            existing = await self.customers.find_one(
                {"_id": customer.customer_id}, {"registered_by": 1}
            )
            if existing is not None and existing.get("registered_by") == cause_id:
                return False
            raise Conflict(f"customer {customer.customer_id} is already registered") from None
        return True

    async def get_customer(self, customer_id: str) -> Customer | None:
        doc = await self.customers.find_one({"_id": customer_id})
        if doc is None:
            return None
        doc["customer_id"] = doc["_id"]
        doc["registered_at"] = unstamp(doc["registered_at"])
        doc["exit_effective_at"] = unstamp_optional(doc.get("exit_effective_at"))
        return Customer(**{name: doc[name] for name in _CUSTOMER_FIELDS if name in doc})

    async def customer_exists(self, customer_id: str) -> bool:
        return await self.customers.find_one({"_id": customer_id}, {"_id": 1}) is not None

    async def apply_change(
        self,
        customer_id: str,
        changes: dict[str, Any],
        cause_id: str,
        at: datetime,
        outbox: Sequence[CloudEvent],
        require: dict[str, Any] | None = None,
    ) -> bool:
        mutation = Mutation().mark_applied(cause_id, at).publish(outbox)
        mutation.set.update(stamp_values(changes))
        mutation.set["updated_at"] = stamp(at)
        if "lifecycle" in changes:
            # The due date lives in the same write as the state implying it (durable timer).
            if changes["lifecycle"] == EXITING:
                mutation.set[NEXT_DUE_AT] = stamp(changes["exit_effective_at"])
            else:
                mutation.unset[NEXT_DUE_AT] = ""
        mutation.inc["version"] = 1
        result = await self.customers.update_one(
            {**(require or {}), "_id": customer_id, **not_yet_applied(cause_id)},
            mutation.to_update(),
        )
        return result.modified_count == 1

    async def add_entry(self, entry: TimelineEntry, outbox: Sequence[CloudEvent]) -> bool:
        doc = {
            "_id": entry.entry_id,
            "customer_id": entry.customer_id,
            "kind": entry.kind,
            "occurred_at": stamp(entry.occurred_at),
            "details": entry.details,
        }
        try:
            await self.timeline_entries.insert_one(outbox_document(doc, outbox))
        except DuplicateKeyError:
            return False
        return True

    async def get_entry(self, entry_id: str) -> TimelineEntry | None:
        doc = await self.timeline_entries.find_one({"_id": entry_id}, _ENTRY_PROJECTION)
        return _entry(doc) if doc else None

    async def timeline(
        self, customer_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[TimelineEntry]:
        query: dict[str, Any] = {"customer_id": customer_id}
        if before is not None:
            at, entry_id = stamp(before[0]), before[1]
            query["$or"] = [
                {"occurred_at": {"$lt": at}},
                {"occurred_at": at, "_id": {"$lt": entry_id}},
            ]
        cursor = self.timeline_entries.find(
            query,
            _ENTRY_PROJECTION,
            sort=[("occurred_at", DESCENDING), ("_id", DESCENDING)],
            limit=limit,
        )
        return [_entry(doc) async for doc in cursor]


_ENTRY_PROJECTION = {"customer_id": 1, "kind": 1, "occurred_at": 1, "details": 1}


def _entry(doc: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        entry_id=doc["_id"],
        customer_id=doc["customer_id"],
        kind=doc["kind"],
        occurred_at=unstamp(doc["occurred_at"]),
        details=doc.get("details") or {},
    )
