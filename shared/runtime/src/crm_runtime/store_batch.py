"""One poll, one round trip per collection: the consumer's unit of work over the stores.

The consumer opens a ``StoreBatch`` per poll. Every aggregate the poll's records touch is
loaded with one ``$in`` query per store (``prefetch``); each key's records then run in
order as usual, but their decisions apply to the loaded aggregates in memory
(``AggregateStore.apply`` finds the batch through ``CURRENT_BATCH``). ``commit`` writes the
aggregates (one unordered bulk write per collection, each write version-guarded, carrying
the entries its decisions append), then inserts those entries (one unordered insert per
collection, duplicates = already there). Entries of decisions that change no aggregate,
and entries an earlier crash left in an aggregate, are inserted before the writes. An
aggregate whose guard failed — someone wrote it since we loaded it — is re-read and its
events of this batch are re-decided, alone; a re-decision that no longer agrees with what
the batch already reported (it now refuses or parks) raises ``AggregateConflict`` so the
poll is rewound and redelivered, every stored effect guarded by its marker.

Work that must follow the effect (releasing parked records, counting outcomes) is queued
with ``after_commit``: a parked record is forgotten only once its effect is stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from contextvars import Token
from functools import partial
from typing import Any

from crm_runtime.errors import DomainError, MissingPrerequisite
from crm_runtime.retry import TransientRetry
from crm_runtime.store import (
    CURRENT_BATCH,
    AggregateConflict,
    AggregateStore,
    Applied,
    Decide,
    Loaded,
)

Slot = tuple[int, str]  # (id of the store, aggregate id)


class StoreBatch:
    def __init__(self, durably: TransientRetry) -> None:
        self._durably = durably
        self._stores: dict[int, AggregateStore[Any]] = {}
        self._loaded: dict[Slot, Loaded[Any]] = {}
        self._steps: dict[Slot, list[tuple[str, Decide[Any]]]] = {}
        self._entries: dict[tuple[int, str], dict[str, dict[str, Any]]] = {}
        self._entry_ids: dict[str, list[str]] = {}
        self._changed: set[str] = set()
        self._reported: set[str] = set()
        self._after: list[Callable[[], Awaitable[None]]] = []
        self.not_applied: set[str] = set()  # reported applied, turned out to be duplicates
        # The consumer's notes on this poll's records, by id(record): parsed once, and the
        # event id each outcome is counted under.
        self.parsed: dict[int, Any] = {}
        self.event_ids: dict[int, str] = {}
        self.reserved: dict[str, str] = {}  # business keys reserved in bulk: key → event id
        self._token: Token[Any] | None = None

    def __enter__(self) -> StoreBatch:
        self._token = CURRENT_BATCH.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        CURRENT_BATCH.reset(self._token)

    @staticmethod
    def current() -> StoreBatch | None:
        batch = CURRENT_BATCH.get()
        return batch if isinstance(batch, StoreBatch) else None

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        self._after.append(action)

    async def prefetch(self, store: AggregateStore[Any], ids: Collection[str]) -> None:
        self._stores[id(store)] = store
        missing = [i for i in dict.fromkeys(ids) if (id(store), i) not in self._loaded]
        if missing:
            loaded = await self._durably("load aggregates", partial(store.load, missing))
            for aggregate_id, aggregate in loaded.items():
                # Keys run concurrently: another one may have loaded (and changed) this
                # aggregate while we waited; its in-memory copy is the one that counts.
                self._loaded.setdefault((id(store), aggregate_id), aggregate)

    async def state_of(self, store: AggregateStore[Any], aggregate_id: str) -> Any:
        return (await self._slot(store, aggregate_id)).state

    async def states_of(self, store: AggregateStore[Any], ids: Collection[str]) -> dict[str, Any]:
        await self.prefetch(store, ids)
        found = {i: self._loaded[(id(store), i)].state for i in ids}
        return {i: state for i, state in found.items() if state is not None}

    async def _slot(self, store: AggregateStore[Any], aggregate_id: str) -> Loaded[Any]:
        slot = (id(store), aggregate_id)
        if slot not in self._loaded:
            await self.prefetch(store, [aggregate_id])
        return self._loaded[slot]

    async def apply(
        self, store: AggregateStore[Any], aggregate_id: str, event_id: str, decide: Decide[Any]
    ) -> Applied[Any]:
        slot = (id(store), aggregate_id)
        loaded = await self._slot(store, aggregate_id)
        step = store.step(loaded, event_id, decide)
        self._steps.setdefault(slot, []).append((event_id, decide))
        new = self._stage(store, event_id, step.entries)
        if step.changed:
            self._changed.add(event_id)
        applied = step.changed or new
        if applied:
            self._reported.add(event_id)
        return Applied(applied, loaded.state)

    def _stage(self, store: AggregateStore[Any], event_id: str, entries: Any) -> bool:
        new = False
        for collection, doc in entries:
            staged = self._entries.setdefault((id(store), collection), {})
            if doc["_id"] not in staged:
                staged[doc["_id"]] = doc
                self._entry_ids.setdefault(event_id, []).append(doc["_id"])
                new = True
        return new

    async def commit(self) -> None:
        dirty = {slot for slot, loaded in self._loaded.items() if loaded.dirty}
        self._stage_unconfirmed(dirty)
        self._resolve(await self._insert_entries())
        for _ in range(max((s.max_attempts for s in self._stores.values()), default=1)):
            lost = await self._write(dirty)
            await self._insert_entries()  # the entries the successful writes carried
            if not lost:
                break
            await self._redecide(lost)
            dirty = lost
        else:
            raise AggregateConflict("aggregates kept changing during a batch; it is redelivered")
        for action in self._after:
            await action()

    def _stage_unconfirmed(self, slots: Collection[Slot]) -> None:
        for slot in slots:
            store = self._stores[slot[0]]
            self._stage_plain(store, store.unconfirmed(self._loaded[slot]))

    def _stage_plain(self, store: AggregateStore[Any], entries: Any) -> None:
        for collection, doc in entries:
            self._entries.setdefault((id(store), collection), {})[doc["_id"]] = doc

    async def _insert_entries(self) -> set[str]:
        existing: set[str] = set()
        for (store_id, collection), staged in self._entries.items():
            if staged:
                store, docs = self._stores[store_id], list(staged.values())
                existing |= await self._durably(
                    "insert entries", partial(store.insert_entries, [(collection, d) for d in docs])
                )
                staged.clear()
        return existing

    def _resolve(self, existing: set[str]) -> None:
        for event_id in self._reported - self._changed:
            if all(entry in existing for entry in self._entry_ids.get(event_id, ())):
                self.not_applied.add(event_id)

    async def _write(self, dirty: set[Slot]) -> set[Slot]:
        lost: set[Slot] = set()
        for store_id, store in self._stores.items():
            mine = [self._loaded[s] for s in dirty if s[0] == store_id]
            if not mine:
                continue
            writes = [store.write_of(loaded) for loaded in mine]
            failed = await self._durably(
                "write aggregates", partial(store.backend.write, store.collection, writes)
            )
            for loaded in mine:
                if loaded.id in failed:
                    lost.add((store_id, loaded.id))
                else:
                    self._stage_plain(store, store.written(loaded))
        return lost

    async def _redecide(self, lost: set[Slot]) -> None:
        """Re-read the aggregates that lost a race and re-apply this batch's events."""
        for store_id, store in self._stores.items():
            ids = [aggregate_id for s, aggregate_id in lost if s == store_id]
            if not ids:
                continue
            fresh = await self._durably("reload aggregates", partial(store.load, ids))
            for aggregate_id, loaded in fresh.items():
                self._loaded[(store_id, aggregate_id)] = loaded
                for event_id, decide in self._steps.get((store_id, aggregate_id), []):
                    self._replay(store, loaded, event_id, decide)
                self._stage_plain(store, store.unconfirmed(loaded))
        self._resolve(await self._insert_entries())

    def _replay(
        self, store: AggregateStore[Any], loaded: Loaded[Any], event_id: str, decide: Decide[Any]
    ) -> None:
        try:
            step = store.step(loaded, event_id, decide)
        except (DomainError, MissingPrerequisite) as exc:
            raise AggregateConflict(f"re-decided after a lost race: {exc}") from exc
        self._stage(store, event_id, step.entries)
        if not step.changed:
            self._changed.discard(event_id)
