"""An in-memory ``ParkingStore`` for unit tests: the same contract as ``ParkingLot``."""

from __future__ import annotations

import copy
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from crm_runtime.parking import POSITION, SEQUENCE
from crm_runtime.scheduler import NEXT_DUE_AT
from crm_runtime.timestamps import stamp


class MemoryParking:
    def __init__(self, *, retry_every: timedelta, grace: timedelta) -> None:
        self.retry_every = retry_every
        self.grace = grace
        self.docs: dict[str, dict[str, Any]] = {}
        self.writes = 0  # round trips that changed something, to show the batching

    async def blocked(self, sequences: Collection[str]) -> set[str]:
        return {doc[SEQUENCE] for doc in self.docs.values()} & set(sequences)

    async def load(self, sequence: str) -> list[dict[str, Any]]:
        found = [copy.deepcopy(d) for d in self.docs.values() if d[SEQUENCE] == sequence]
        return sorted(found, key=lambda d: (d[POSITION], d["parked_at"], d["_id"]))

    async def store(self, docs: list[dict[str, Any]]) -> None:
        self.writes += 1
        for doc in docs:
            self.docs.setdefault(doc["_id"], copy.deepcopy(doc))

    async def due(self, doc_id: str, when: datetime) -> None:
        self.writes += 1
        self.docs[doc_id][NEXT_DUE_AT] = stamp(when)

    async def release(self, doc_ids: list[str]) -> None:
        self.writes += 1
        for doc_id in doc_ids:
            self.docs.pop(doc_id, None)

    async def ensure_indexes(self) -> None:
        return None

    async def due_documents(self, now: str, limit: int) -> list[dict[str, Any]]:
        due = [d for d in self.docs.values() if d.get(NEXT_DUE_AT, "~") <= now]
        return [copy.deepcopy(d) for d in sorted(due, key=lambda d: d[NEXT_DUE_AT])][:limit]

    def due_now(self, now: datetime) -> list[dict[str, Any]]:
        """What the sweep would hand over: heads whose due date has passed."""
        due = [d for d in self.docs.values() if d.get(NEXT_DUE_AT, "~") <= stamp(now)]
        return [copy.deepcopy(d) for d in sorted(due, key=lambda d: d[NEXT_DUE_AT])]
