"""The parking lot: one sequence per Kafka key of consumed records waiting for a prerequisite.

Cross-topic order is not guaranteed (a purchase may be consumed before the customer's
registration). Such a record is parked here — durably, before its offset is committed —
and every later record of the same key queues behind it, so that the key's records are
applied in arrival order once the prerequisite is there (Axon's sequenced dead-letter
queue). This module only stores; ``crm_runtime.sequences`` decides what to apply when.

Each parked record is its own document (portable: no arrays of sub-documents, no
transactions), ordered inside its sequence by ``position``. Only the head of a sequence
carries ``next_due_at``, so the safety-net sweep retries one document per sequence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.timestamps import stamp, unstamp

SEQUENCE = "sequence"
POSITION = "position"
DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class ParkedRecord:
    """Duck-types the parts of aiokafka's ConsumerRecord the consumer and DLQ read."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def entry_id(record: Any) -> str:
    # The value's digest is part of the id: a redelivery of the same record dedupes, but
    # a different record at a reused offset (topic recreated, in-memory broker restarted)
    # is parked too instead of being dropped as a "duplicate".
    digest = hashlib.sha256(record.value or b"").hexdigest()[:16]
    return f"{record.topic}:{record.partition}:{record.offset}:{digest}"


def sequence_name(record: Any) -> str:
    """The record's Kafka key (the customer id); a record without a key waits alone."""
    if record.key is None:
        return entry_id(record)
    return str(record.key.decode("utf-8", "replace"))


def parked_document(
    record: Any, reason: str, now: datetime, *, position: int, grace: timedelta
) -> dict[str, Any]:
    return {
        "_id": entry_id(record),
        SEQUENCE: sequence_name(record),
        POSITION: position,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode("utf-8", "replace") if record.key is not None else None,
        "value": (record.value or b"").decode("utf-8"),
        "headers": {k: v.decode("utf-8", "replace") for k, v in record.headers or ()},
        "reason": reason,
        "parked_at": stamp(now),
        "expires_at": stamp(now + grace),
    }


def record_of(doc: dict[str, Any]) -> ParkedRecord:
    return ParkedRecord(
        topic=doc["topic"],
        partition=doc["partition"],
        offset=doc["offset"],
        key=doc["key"].encode() if doc.get("key") is not None else None,
        value=doc["value"].encode(),
        headers=tuple((k, v.encode()) for k, v in (doc.get("headers") or {}).items()),
    )


def expired(doc: dict[str, Any], now: datetime) -> bool:
    return unstamp(doc["expires_at"]) <= now


class ParkingStore(Protocol):
    """What the sequencer needs from storage; ``ParkingLot`` is MongoDB, tests use a fake."""

    retry_every: timedelta
    grace: timedelta

    async def blocked(self, sequences: Collection[str]) -> set[str]:
        """The given sequences that have parked records (one query per batch)."""
        ...

    async def load(self, sequence: str) -> list[dict[str, Any]]:
        """A sequence's parked records, head first (one query)."""
        ...

    async def store(self, docs: list[dict[str, Any]]) -> None:
        """Insert new parked records; one already stored (a redelivery) is not doubled."""
        ...

    async def due(self, doc_id: str, when: datetime) -> None:
        """Set when the safety-net sweep retries this (head) record."""
        ...

    async def release(self, doc_ids: list[str]) -> None:
        """Remove applied or dead-lettered records (one delete)."""
        ...

    async def ensure_indexes(self) -> None: ...

    async def due_documents(self, now: str, limit: int) -> list[dict[str, Any]]:
        """Heads whose safety-net retry is due at ``now`` (a stamp), earliest first."""
        ...


class ParkingLot:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        retry_every: timedelta,
        grace: timedelta,
    ) -> None:
        self.collection = collection
        self.retry_every = retry_every
        self.grace = grace

    async def ensure_indexes(self) -> None:
        await self.collection.create_indexes(
            [
                IndexModel([(SEQUENCE, ASCENDING), (POSITION, ASCENDING)]),
                IndexModel([(NEXT_DUE_AT, ASCENDING)]),
            ]
        )

    async def blocked(self, sequences: Collection[str]) -> set[str]:
        if not sequences:
            return set()
        pipeline: list[dict[str, Any]] = [
            {"$match": {SEQUENCE: {"$in": list(sequences)}}},
            {"$group": {"_id": f"${SEQUENCE}"}},
        ]
        cursor = await self.collection.aggregate(pipeline)
        return {str(doc["_id"]) async for doc in cursor}

    async def load(self, sequence: str) -> list[dict[str, Any]]:
        # _id breaks ties between two instances that started the same sequence at once.
        order = [(POSITION, ASCENDING), ("parked_at", ASCENDING), ("_id", ASCENDING)]
        return await self.collection.find({SEQUENCE: sequence}, sort=order).to_list()

    async def store(self, docs: list[dict[str, Any]]) -> None:
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:  # redelivered after a crash: already parked
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != DUPLICATE_KEY for error in errors) or not errors:
                raise

    async def due(self, doc_id: str, when: datetime) -> None:
        await self.collection.update_one({"_id": doc_id}, {"$set": {NEXT_DUE_AT: stamp(when)}})

    async def release(self, doc_ids: list[str]) -> None:
        await self.collection.delete_many({"_id": {"$in": doc_ids}})

    async def due_documents(self, now: str, limit: int) -> list[dict[str, Any]]:
        return await self.collection.find(
            {NEXT_DUE_AT: {"$lte": now}}, sort=[(NEXT_DUE_AT, ASCENDING)], limit=limit
        ).to_list()
