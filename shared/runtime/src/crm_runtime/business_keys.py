"""Business-key idempotency (DESIGN §4 "Business keys too"): one rule for every consumer.

Other systems retry with new event ids, so the event id alone cannot tell that a fact was
seen before. Each event type declares its business key in the contracts
(``EventData.business_key``); before a handler runs, the key is *reserved* for the event
in ``business_keys`` — one document per fact, ``_id`` = the key, holding the event id and a
fingerprint of the content:

- no reservation yet → this event holds the key; the handler applies it;
- held by this event (a redelivery) → the handler runs, and its event-id guard answers;
- held by another event with the same fingerprint → ``duplicate``: no effect;
- held by another event with other content → ``BusinessKeyConflict`` → DLQ kind ``conflict``.

A reservation is one unique insert; only its holder can ever apply the fact, and the
holder's own effect is exactly-once by event id, so the pair is exactly-once per business
key without a transaction. A handler that does not apply (refused, parked, failing) gives
the key back, so a later copy is judged afresh; a crash between reservation and effect
leaves the key with the holder, whose record is redelivered (its offset was not committed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from crm_events import CloudEvent, EventData
from crm_runtime.clock import Clock
from crm_runtime.consumer import Handler
from crm_runtime.errors import Conflict
from crm_runtime.logging import get_logger
from crm_runtime.mongo import TRANSIENT_ERRORS
from crm_runtime.store import CURRENT_BATCH
from crm_runtime.store_batch import StoreBatch
from crm_runtime.timestamps import stamp

COLLECTION = "business_keys"
DUPLICATE_KEY = 11000
log = get_logger(__name__)


@dataclass(frozen=True)
class Holder:
    """The event that reserved a business key, and the fingerprint of its content."""

    event_id: str
    fingerprint: str


class BusinessKeyStore(Protocol):
    async def reserve(self, key: str, holder: Holder, at: datetime) -> Holder:
        """Reserve ``key`` for ``holder`` unless reserved; return whoever holds it now."""
        ...

    async def release(self, key: str, event_id: str) -> None:
        """Give ``key`` back if ``event_id`` holds it (its event was not applied)."""
        ...

    async def reserve_many(self, wanted: dict[str, Holder], at: datetime) -> set[str]:
        """Reserve many keys at once; return those now held by the event that wanted them."""
        ...


class BusinessKeyConflict(Conflict):
    """Another event already recorded this business key with different content."""

    dlq_kind = "conflict"


class MongoBusinessKeys:
    """One document per reserved key (portable: a unique insert and a guarded delete)."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def reserve(self, key: str, holder: Holder, at: datetime) -> Holder:
        doc = self._document(key, holder, at)
        while True:
            try:
                await self.collection.insert_one(doc)
                return holder
            except DuplicateKeyError:
                found = await self.collection.find_one({"_id": key})
                if found is not None:  # else released meanwhile: try again
                    return Holder(found["event_id"], found["fingerprint"])

    async def release(self, key: str, event_id: str) -> None:
        await self.collection.delete_one({"_id": key, "event_id": event_id})

    async def reserve_many(self, wanted: dict[str, Holder], at: datetime) -> set[str]:
        """One ``insert_many(ordered=False)``; keys already taken are looked up with one
        ``$in`` query (a redelivered event still holds its own)."""
        docs = [self._document(key, holder, at) for key, holder in wanted.items()]
        try:
            await self.collection.insert_many(docs, ordered=False)
            return set(wanted)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if not errors or any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            taken = {docs[int(e["index"])]["_id"] for e in errors}
        cursor = self.collection.find({"_id": {"$in": list(taken)}}, {"event_id": 1})
        mine = {
            doc["_id"] async for doc in cursor if doc["event_id"] == wanted[doc["_id"]].event_id
        }
        return (set(wanted) - taken) | mine

    @staticmethod
    def _document(key: str, holder: Holder, at: datetime) -> dict[str, Any]:
        return {
            "_id": key,
            "event_id": holder.event_id,
            "fingerprint": holder.fingerprint,
            "reserved_at": stamp(at),
        }


class GuardedHandler:
    """A consumer handler behind the business-key rule of its event type."""

    def __init__(
        self, model: type[EventData], handler: Handler, store: BusinessKeyStore, clock: Clock
    ) -> None:
        self.model = model
        self.handler = handler
        self._store = store
        self._clock = clock

    async def __call__(self, data: EventData, event: CloudEvent) -> bool:
        key = data.business_identity()
        if key is None:
            return await self.handler(data, event)
        held = _prefetched()
        if held.get(key) != event.id:
            mine = Holder(event.id, data.content_fingerprint())
            holder = await self._store.reserve(key, mine, self._clock.now())
            if holder.event_id != event.id:
                return self._judge_copy(holder, mine)
        try:
            return await self.handler(data, event)
        except TRANSIENT_ERRORS:
            raise  # retried as it is: the reservation stays with this event
        except Exception:
            held.pop(key, None)
            await self._store.release(key, event.id)
            raise

    def _judge_copy(self, holder: Holder, copy: Holder) -> bool:
        fields = ", ".join(self.model.business_key or ())
        if holder.fingerprint == copy.fingerprint:
            log.info("business_key_duplicate", business_key=fields, first_event=holder.event_id)
            return False
        raise BusinessKeyConflict(
            f"{self.model.event_name()} with the same {fields} was already recorded by event "
            f"{holder.event_id} with different content; event {copy.event_id} conflicts"
        )


class BusinessKeyGuard:
    """Wraps every consumed event type's handler (``ServiceRuntime.on`` does it)."""

    def __init__(self, store: BusinessKeyStore, clock: Clock) -> None:
        self.store = store
        self._clock = clock

    async def prefetch(self, items: list[tuple[EventData, CloudEvent]]) -> None:
        """A consumer poll's reservations in one round trip (``StoreBatch.reserved``); a
        key that another event holds is left to the handler's own judgement."""
        held = _prefetched()
        wanted: dict[str, Holder] = {}
        for data, event in items:
            key = data.business_identity()
            if key is not None and key not in wanted and held.get(key) is None:
                wanted[key] = Holder(event.id, data.content_fingerprint())
        if wanted:
            for key in await self.store.reserve_many(wanted, self._clock.now()):
                held[key] = wanted[key].event_id

    def wrap(self, model: type[EventData], handler: Handler) -> GuardedHandler:
        if model.business_key is None:
            raise TypeError(f"{model.__name__} declares no business key (use () for none)")
        return GuardedHandler(model, handler, self.store, self._clock)


def _prefetched() -> dict[str, str]:
    """Keys reserved in bulk for the consumer's current poll (key → event id), if any."""
    batch = CURRENT_BATCH.get()
    return batch.reserved if isinstance(batch, StoreBatch) else {}
