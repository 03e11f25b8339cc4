"""The parking lot: consumed events whose prerequisite has not arrived yet.

Cross-topic order is not guaranteed (a contact may be logged before the registration is
consumed). Such a record is stored here — durably, before its offset is committed — and
retried by a sweeper until it applies or its grace period ends; then it is dead-lettered
with the reason. Nothing is dropped and the partition is never blocked.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.timestamps import stamp, unstamp


@dataclass(frozen=True)
class ParkedRecord:
    """Duck-types the parts of aiokafka's ConsumerRecord the consumer and DLQ read."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


class ParkingLot:
    def __init__(
        self,
        collection: AsyncCollection[dict[str, Any]],
        *,
        retry_every: timedelta,
        grace: timedelta,
    ) -> None:
        self.collection = collection
        self._retry_every = retry_every
        self._grace = grace

    async def ensure_indexes(self) -> None:
        await self.collection.create_indexes([IndexModel([(NEXT_DUE_AT, ASCENDING)])])

    async def park(self, record: Any, reason: str, now: datetime) -> None:
        # The value's digest is part of the id: a redelivery of the same record dedupes, but
        # a different record at a reused offset (topic recreated, in-memory broker restarted)
        # is parked too instead of being dropped as a "duplicate".
        digest = hashlib.sha256(record.value).hexdigest()[:16]
        doc = {
            "_id": f"{record.topic}:{record.partition}:{record.offset}:{digest}",
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode("utf-8", "replace") if record.key is not None else None,
            "value": record.value.decode("utf-8"),
            "headers": {k: v.decode("utf-8", "replace") for k, v in record.headers or ()},
            "reason": reason,
            "parked_at": stamp(now),
            "expires_at": stamp(now + self._grace),
            NEXT_DUE_AT: stamp(now + self._retry_every),
        }
        with contextlib.suppress(DuplicateKeyError):  # redelivered after a crash
            await self.collection.insert_one(doc)

    @staticmethod
    def record_of(doc: dict[str, Any]) -> ParkedRecord:
        return ParkedRecord(
            topic=doc["topic"],
            partition=doc["partition"],
            offset=doc["offset"],
            key=doc["key"].encode() if doc.get("key") is not None else None,
            value=doc["value"].encode(),
            headers=tuple((k, v.encode()) for k, v in (doc.get("headers") or {}).items()),
        )

    def expired(self, doc: dict[str, Any], now: datetime) -> bool:
        return unstamp(doc["expires_at"]) <= now

    async def retry_later(self, doc: dict[str, Any], now: datetime) -> None:
        await self.collection.update_one(
            {"_id": doc["_id"]}, {"$set": {NEXT_DUE_AT: stamp(now + self._retry_every)}}
        )

    async def release(self, doc: dict[str, Any]) -> None:
        await self.collection.delete_one({"_id": doc["_id"]})
