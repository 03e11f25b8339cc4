"""Per-key order that survives parking (Axon's sequenced dead-letter queue, adapted).

When a record of a key (a customer) is parked, every later record of that key queues
behind it, whatever its topic, and the queue is applied in arrival order as soon as the
prerequisite is there. The rules, for one key:

- a key without parked records: a record is applied as usual; if its prerequisite is
  missing it is parked and becomes the head of the key's sequence;
- a key with parked records: the sequence is retried from its head first (the
  prerequisite may have arrived by another path). If the head still cannot apply, the
  newcomer is tried: if it cannot apply either it queues at the tail; if it applies, it
  did not need what the head waits for — typically it *is* that prerequisite (the
  registration) — and the sequence is drained right after it;
- draining applies entries head first and stops at the first one that still cannot
  apply; once that head's grace period has passed it is dead-lettered
  (``prerequisite-missing``) and the next entry is tried;
- a slow sweep retries each sequence's head (``next_due_at``) as a safety net for
  prerequisites that arrive by paths this process does not see.

Writes are batched per key and batch: new entries in one ``insert_many``, released ones in
one ``delete_many``; a record parked and released within the same batch is never written.
All of it happens before the batch's offsets are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm_runtime.clock import Clock
from crm_runtime.errors import MissingPrerequisite
from crm_runtime.logging import get_logger, record_context
from crm_runtime.metrics import Metrics
from crm_runtime.parking import (
    POSITION,
    SEQUENCE,
    ParkingStore,
    entry_id,
    expired,
    parked_document,
    record_of,
)
from crm_runtime.retry import TransientRetry
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.store import CURRENT_BATCH
from crm_runtime.store_batch import StoreBatch
from crm_runtime.timestamps import stamp, unstamp

# Parse and apply one record: the outcome, or MissingPrerequisite.
Attempt = Callable[[Any], Awaitable[str]]
DeadLetter = Callable[[Any, str, str], Awaitable[str]]
# Outcomes after which the key's state may have changed, so its sequence may move on.
RELEASING = frozenset({"applied", "duplicate"})
log = get_logger(__name__)


@dataclass
class Entry:
    doc: dict[str, Any]
    stored: bool
    record: Any


@dataclass
class Sequence:
    """One key's parked records as this process holds them while it has the key's lock."""

    name: str
    entries: deque[Entry] = field(default_factory=deque)
    released: list[str] = field(default_factory=list)  # stored entries to delete
    next_position: int = 0

    @classmethod
    def loaded(cls, name: str, docs: list[dict[str, Any]]) -> Sequence:
        entries = deque(Entry(doc, True, record_of(doc)) for doc in docs)
        after = max((int(doc.get(POSITION, 0)) for doc in docs), default=-1) + 1
        return cls(name, entries, next_position=after)

    def holds(self, doc_id: str) -> bool:
        return any(entry.doc["_id"] == doc_id for entry in self.entries)

    def append(self, doc: dict[str, Any], record: Any) -> None:
        self.entries.append(Entry(doc, False, record))
        self.next_position += 1

    def pop_head(self) -> None:
        head = self.entries.popleft()
        if head.stored:
            self.released.append(head.doc["_id"])


class KeyLocks:
    """One asyncio lock per key in use: the consumer and the sweep never drain one key at
    the same time in this process (which would break its order)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class ParkedSequences:
    def __init__(
        self,
        store: ParkingStore,
        *,
        attempt: Attempt,
        dead_letter: DeadLetter,
        clock: Clock,
        metrics: Metrics,
        durably: TransientRetry,
        count: Callable[[Any, str], None] | None = None,
    ) -> None:
        self._store = store
        self._attempt = attempt
        self._dead_letter = dead_letter
        self._clock = clock
        self._metrics = metrics
        self._durably = durably
        self._count = count or self._count_now
        self._locks = KeyLocks()

    def _count_now(self, record: Any, outcome: str) -> None:
        self._metrics.consumed(topic=record.topic, outcome=outcome).inc()

    async def blocked(self, names: Collection[str]) -> set[str]:
        """Which of these keys have parked records: one query for a whole batch."""
        return await self._durably("find parked sequences", lambda: self._store.blocked(names))

    async def consume(self, name: str, records: list[Any], *, blocked: bool) -> None:
        """Apply one key's records of a batch in arrival order, behind its parked ones."""
        async with self._locks.hold(name):
            sequence = await self._open(name) if blocked else Sequence(name)
            for record in records:
                with record_context(record):
                    outcome = await self._admit(sequence, record)
                self._count(record, outcome)
            await self._settled(sequence)

    async def release_due(self, doc: dict[str, Any], now: datetime) -> None:
        """Sweeper callback (safety net): retry the sequence whose head is due."""
        name = doc.get(SEQUENCE)
        if name is None:  # parked before sequences existed: it waits alone
            async with self._locks.hold(doc["_id"]):
                sequence = Sequence.loaded(doc["_id"], [doc])
                await self._drain(sequence)
                await self._settle(sequence)
            return
        async with self._locks.hold(name):
            await self._settle(await self._open(name))

    async def _open(self, name: str) -> Sequence:
        docs = await self._durably("load parked sequence", lambda: self._store.load(name))
        sequence = Sequence.loaded(name, docs)
        await self._drain(sequence)
        return sequence

    async def _admit(self, sequence: Sequence, record: Any) -> str:
        if not sequence.entries:
            return await self._try(sequence, record)
        if sequence.holds(entry_id(record)):
            return "parked"  # a redelivery of a record that is already waiting
        # The head is stuck: this record may be exactly what it waits for.
        outcome = await self._try(sequence, record)
        if outcome in RELEASING:
            await self._drain(sequence)
        return outcome

    async def _try(self, sequence: Sequence, record: Any) -> str:
        try:
            return await self._attempt(record)
        except MissingPrerequisite as exc:
            now = self._clock.now()
            grace = self._store.grace
            doc = parked_document(
                record, exc.reason, now, position=sequence.next_position, grace=grace
            )
            sequence.append(doc, record)
            log.info("event_parked", reason=exc.reason, queued_behind=len(sequence.entries) - 1)
            return "parked"

    async def _drain(self, sequence: Sequence) -> None:
        released = 0
        while sequence.entries:
            head = sequence.entries[0]
            with record_context(head.record):
                outcome = await self._retry(head)
            if outcome is None:
                break
            self._count(head.record, f"unparked_{outcome}")
            sequence.pop_head()
            released += 1
        if released:
            log.info("parked_released", released=released, still_parked=len(sequence.entries))

    async def _retry(self, head: Entry) -> str | None:
        """The head's outcome, or None while its prerequisite is missing within the grace."""
        try:
            return await self._attempt(head.record)
        except MissingPrerequisite as exc:
            if not expired(head.doc, self._clock.now()):
                return None
            reason = f"{exc.reason} (still missing when the parking grace period ended)"
            return await self._dead_letter(head.record, "prerequisite-missing", reason)

    async def _settled(self, sequence: Sequence) -> None:
        """Settle now, or — inside a consumer's store batch — once its effects are stored:
        a released record is forgotten only after what it did is in the database."""
        batch = CURRENT_BATCH.get()
        if isinstance(batch, StoreBatch):
            batch.after_commit(lambda: self._settle(sequence))
        else:
            await self._settle(sequence)

    async def _settle(self, sequence: Sequence) -> None:
        """Store what this batch parked, then forget what it released. The new head gets
        its due date before the old head is deleted, so a crash in between never leaves a
        sequence the sweep cannot find."""
        now = self._clock.now()
        head = sequence.entries[0] if sequence.entries else None
        if head is not None and _needs_due_date(head.doc, now):
            when = now + self._store.retry_every
            head.doc[NEXT_DUE_AT] = stamp(when)
            if head.stored:
                doc_id = head.doc["_id"]
                await self._durably("reschedule parked", lambda: self._store.due(doc_id, when))
        new = [entry for entry in sequence.entries if not entry.stored]
        if new:
            await self._durably("park", lambda: self._store.store([e.doc for e in new]))
            for entry in new:
                entry.stored = True
        if sequence.released:
            ids = list(sequence.released)
            await self._durably("release parked", lambda: self._store.release(ids))
            sequence.released.clear()


def _needs_due_date(doc: dict[str, Any], now: datetime) -> bool:
    return NEXT_DUE_AT not in doc or unstamp(doc[NEXT_DUE_AT]) <= now
