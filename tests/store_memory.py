"""The aggregate store's in-memory backend, for every service's unit tests (not shipped).

Same contract as ``crm_runtime.mongo_store.MongoBackend``: version-guarded writes report
lost races, inserts report ids already there. Two faults can be injected:

- ``crash_after(n)``: the n-th next write or insert raises ``SimulatedCrash`` before it
  happens (a process dying between any two writes);
- ``race(collection, id)``: before the next write to that document, another writer bumps
  its version (a concurrent HTTP command or instance), so the guard fails once.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from crm_runtime.business_keys import Holder
from crm_runtime.store import PENDING, PENDING_AT, Write
from tests.unit.parking_fake import MemoryParking


class SimulatedCrash(Exception):
    """The process died here."""


class InMemoryBusinessKeys:
    def __init__(self) -> None:
        self.holders: dict[str, Holder] = {}

    async def reserve(self, key: str, holder: Holder, at: datetime) -> Holder:
        return self.holders.setdefault(key, holder)

    async def release(self, key: str, event_id: str) -> None:
        if key in self.holders and self.holders[key].event_id == event_id:
            del self.holders[key]

    async def reserve_many(self, wanted: dict[str, Holder], at: datetime) -> set[str]:
        held = {key: await self.reserve(key, holder, at) for key, holder in wanted.items()}
        return {key for key, holder in held.items() if holder.event_id == wanted[key].event_id}


class InMemoryBackend:
    def __init__(self) -> None:
        self.collections: dict[str, dict[str, dict[str, Any]]] = {}
        self.keys = InMemoryBusinessKeys()
        self.writes = 0
        self._crash_in: int | None = None
        self._races: set[tuple[str, str]] = set()

    def docs(self, collection: str) -> dict[str, dict[str, Any]]:
        return self.collections.setdefault(collection, {})

    def business_keys(self) -> InMemoryBusinessKeys:
        return self.keys

    def parking(self, *, retry_every: timedelta, grace: timedelta) -> MemoryParking:
        return MemoryParking(retry_every=retry_every, grace=grace)

    def crash_after(self, writes: int) -> None:
        self._crash_in = writes

    def race(self, collection: str, doc_id: str) -> None:
        self._races.add((collection, doc_id))

    def _writing(self) -> None:
        if self._crash_in is not None:
            if self._crash_in == 0:
                self._crash_in = None
                raise SimulatedCrash
            self._crash_in -= 1
        self.writes += 1

    async def load(self, collection: str, ids: Collection[str]) -> dict[str, dict[str, Any]]:
        docs = self.docs(collection)
        return {i: copy.deepcopy(docs[i]) for i in ids if i in docs}

    async def write(self, collection: str, writes: Sequence[Write]) -> set[str]:
        self._writing()
        docs, lost = self.docs(collection), set()
        for write in writes:
            if (collection, write.id) in self._races:
                self._races.discard((collection, write.id))
                docs[write.id]["version"] = int(docs[write.id].get("version") or 0) + 1
            current = docs.get(write.id)
            if int((current or {}).get("version") or 0) != write.expected:
                lost.add(write.id)
                continue
            doc = copy.deepcopy(current) if current else {"_id": write.id}
            for path, value in write.set.items():
                _put(doc, path, copy.deepcopy(value))
            for path in write.unset:
                _drop(doc, path)
            doc["version"] = write.expected + 1
            if write.publishes:
                doc["outbox_rev"] = int(doc.get("outbox_rev") or 0) + 1
            docs[write.id] = doc
        return lost

    async def insert(self, collection: str, docs: Sequence[dict[str, Any]]) -> set[str]:
        self._writing()
        stored, existing = self.docs(collection), set()
        for doc in docs:
            if doc["_id"] in stored:
                existing.add(doc["_id"])
            else:
                stored[doc["_id"]] = copy.deepcopy(doc)
        return existing

    async def page(
        self,
        collection: str,
        *,
        equals: dict[str, Any],
        newest_by: str,
        before: tuple[str, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        docs = [
            d
            for d in self.docs(collection).values()
            if all(_matches(d.get(k), v) for k, v in equals.items())
            and (before is None or (d[newest_by], d["_id"]) < before)
        ]
        docs.sort(key=lambda d: (d[newest_by], d["_id"]), reverse=True)
        return copy.deepcopy(docs[:limit])

    async def due(self, collection: str, now: str, limit: int) -> list[dict[str, Any]]:
        docs = [d for d in self.docs(collection).values() if d.get("next_due_at", "~") <= now]
        return copy.deepcopy(sorted(docs, key=lambda d: d["next_due_at"])[:limit])

    async def pending(self, collection: str, before: str, limit: int) -> list[dict[str, Any]]:
        docs = [d for d in self.docs(collection).values() if d.get(PENDING_AT, "~") <= before]
        return copy.deepcopy(sorted(docs, key=lambda d: d[PENDING_AT])[:limit])

    async def clear_pending(self, collection: str, versions: dict[str, int]) -> None:
        self._writing()
        docs = self.docs(collection)
        for doc_id, version in versions.items():
            doc = docs.get(doc_id)
            if doc is not None and int(doc.get("version") or 0) == version:
                doc.pop(PENDING, None)
                doc.pop(PENDING_AT, None)

    async def prepare(self, collection: str) -> None:
        return None


_OPERATORS = {
    "$gte": lambda a, b: a is not None and a >= b,
    "$gt": lambda a, b: a is not None and a > b,
    "$lte": lambda a, b: a is not None and a <= b,
    "$lt": lambda a, b: a is not None and a < b,
    "$in": lambda a, b: a in b,
}


def _matches(value: Any, wanted: Any) -> bool:
    """MongoDB's matching for what ``page`` is given: equality (an array matches when it
    holds the value) and the comparison operators of ``_OPERATORS``."""
    if isinstance(wanted, dict) and wanted and all(k.startswith("$") for k in wanted):
        values = value if isinstance(value, list) else [value]
        return any(all(_OPERATORS[op](v, arg) for op, arg in wanted.items()) for v in values)
    return value == wanted or (isinstance(value, list) and wanted in value)


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if rest:
        _put(doc.setdefault(head, {}), rest, value)
    else:
        doc[head] = value


def _drop(doc: dict[str, Any], path: str) -> None:
    head, _, rest = path.partition(".")
    if rest and isinstance(doc.get(head), dict):
        _drop(doc[head], rest)
    elif not rest:
        doc.pop(head, None)
