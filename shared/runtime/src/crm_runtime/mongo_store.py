"""The aggregate store's MongoDB backend: the portable subset (DESIGN §5) only.

- load: one ``find({_id: {$in: ids}})`` per collection and batch;
- write: one unordered ``bulk_write`` of ``UpdateOne(guard, {$set, $unset, $inc}, upsert)``
  per collection, where the guard is ``{_id, version: v}`` (``version`` absent for a new
  aggregate): a guard that no longer matches makes the upsert insert a second document
  with the same ``_id``, which fails with E11000 — that, per write, is the lost race;
- insert: one ``insert_many(ordered=False)``; E11000 per document = already there;
- pending / clear_pending: the entries a crash left in their aggregates (sparse index on
  ``entries_pending_at``), cleared only where the version has not moved since they were read.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from crm_runtime.business_keys import COLLECTION, MongoBusinessKeys
from crm_runtime.mongo import OUTBOX_REV
from crm_runtime.parking import ParkingLot
from crm_runtime.store import PENDING, PENDING_AT, VERSION, Write

DUPLICATE_KEY = 11000


class MongoBackend:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db

    def business_keys(self) -> MongoBusinessKeys:
        return MongoBusinessKeys(self.db[COLLECTION])

    def parking(self, *, retry_every: timedelta, grace: timedelta) -> ParkingLot:
        return ParkingLot(self.db["parked_events"], retry_every=retry_every, grace=grace)

    async def load(self, collection: str, ids: Collection[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        cursor = self.db[collection].find({"_id": {"$in": list(ids)}})
        return {doc["_id"]: doc async for doc in cursor}

    async def write(self, collection: str, writes: Sequence[Write]) -> set[str]:
        if not writes:
            return set()
        operations = [_operation(write) for write in writes]
        try:
            await self.db[collection].bulk_write(operations, ordered=False)
        except BulkWriteError as exc:
            return {writes[i].id for i in _duplicates(exc)}
        return set()

    async def insert(self, collection: str, docs: Sequence[dict[str, Any]]) -> set[str]:
        if not docs:
            return set()
        try:
            await self.db[collection].insert_many(list(docs), ordered=False)
        except BulkWriteError as exc:
            return {docs[i]["_id"] for i in _duplicates(exc)}
        return set()

    async def page(
        self,
        collection: str,
        *,
        equals: dict[str, Any],
        newest_by: str,
        before: tuple[str, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = dict(equals)
        if before is not None:
            at, last_id = before
            query["$or"] = [{newest_by: {"$lt": at}}, {newest_by: at, "_id": {"$lt": last_id}}]
        cursor = self.db[collection].find(
            query, sort=[(newest_by, DESCENDING), ("_id", DESCENDING)], limit=limit
        )
        return [doc async for doc in cursor]

    async def due(self, collection: str, now: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.db[collection].find(
            {"next_due_at": {"$lte": now}}, sort=[("next_due_at", ASCENDING)], limit=limit
        )
        return [doc async for doc in cursor]

    async def pending(self, collection: str, before: str, limit: int) -> list[dict[str, Any]]:
        cursor = self.db[collection].find(
            {PENDING_AT: {"$lte": before}}, sort=[(PENDING_AT, ASCENDING)], limit=limit
        )
        return [doc async for doc in cursor]

    async def clear_pending(self, collection: str, versions: dict[str, int]) -> None:
        if versions:
            clear = {"$unset": {PENDING: "", PENDING_AT: ""}}
            await self.db[collection].bulk_write(
                [UpdateOne({"_id": i, VERSION: v}, clear) for i, v in versions.items()],
                ordered=False,
            )

    async def prepare(self, collection: str) -> None:
        await self.db[collection].create_indexes(
            [IndexModel([(PENDING_AT, ASCENDING)], name=PENDING_AT, sparse=True)]
        )


def _operation(write: Write) -> UpdateOne:
    guard: dict[str, Any] = {"_id": write.id}
    guard[VERSION] = write.expected if write.expected else {"$exists": False}
    update: dict[str, Any] = {"$set": write.set, "$inc": {VERSION: 1}}
    if write.publishes:
        update["$inc"][OUTBOX_REV] = 1
    if write.unset:
        update["$unset"] = dict.fromkeys(write.unset, "")
    return UpdateOne(guard, update, upsert=True)


def _duplicates(exc: BulkWriteError) -> list[int]:
    errors = exc.details.get("writeErrors", [])
    if any(error.get("code") != DUPLICATE_KEY for error in errors) or not errors:
        raise exc
    return [int(error["index"]) for error in errors]
