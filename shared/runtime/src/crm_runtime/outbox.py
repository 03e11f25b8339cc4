"""Relays derived events stored in documents' outbox maps to Kafka (at-least-once).

A writer sets ``outbox.<id>``, ``outbox_pending`` and increments ``outbox_rev`` in the same
update as its state change. The relay publishes every entry, waits for the broker, then
``$unset``s what it published; the pending marker is removed only if no writer added
entries meanwhile (guarded by ``outbox_rev``). A crash in between republishes: consumers
dedupe by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from crm_runtime.dlq import BatchPublisher, OutgoingRecord
from crm_runtime.health import Health
from crm_runtime.logging import get_logger
from crm_runtime.metrics import Metrics
from crm_runtime.mongo import OUTBOX, OUTBOX_PENDING, OUTBOX_REV

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
log = get_logger(__name__)


class OutboxRelay:
    def __init__(
        self,
        collections: Sequence[AsyncCollection[dict[str, Any]]],
        publisher: BatchPublisher,
        *,
        metrics: Metrics,
        health: Health,
        poll_interval_s: float,
        topic_prefix: str = "",
        batch_size: int = 200,
    ) -> None:
        self._prefix = topic_prefix
        self._collections = list(collections)
        self._publisher = publisher
        self._metrics = metrics
        self._health = health
        self._poll = poll_interval_s
        self._batch = batch_size
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """Called after a write that stored outbox entries: publish without waiting a poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            # Cleared before flushing: a notify() arriving during the flush wakes the next wait.
            self._wake.clear()
            try:
                while await self.flush():
                    pass
                self._health.recover("outbox")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._health.fail("outbox", type(exc).__name__)
                log.warning("outbox_relay_failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)

    async def flush(self) -> int:
        """Publish one round of pending documents; return how many events went out.

        All sends of a round are issued in order and then awaited together (pipelined),
        so one customer's events keep their order without a round trip per event.
        """
        published = 0
        for collection in self._collections:
            docs = await collection.find(
                {OUTBOX_PENDING: {"$exists": True}},
                {OUTBOX: 1, OUTBOX_REV: 1},
                limit=self._batch,
            ).to_list()
            records = [record for doc in docs for record in self._records(doc)]
            await self._publisher.publish_all(records)
            for record in records:
                topic = record.topic.removeprefix(self._prefix)
                self._metrics.outbox_published(topic=topic).inc()
            await self._acknowledge(collection, docs)
            published += len(records)
        return published

    def _records(self, doc: dict[str, Any]) -> list[OutgoingRecord]:
        entries: dict[str, dict[str, Any]] = doc.get(OUTBOX) or {}
        ordered = sorted(
            entries.items(),
            key=lambda item: (item[1]["time"], item[1].get("seq", 0), item[0]),
        )
        return [
            OutgoingRecord(
                topic=self._prefix + entry["topic"],
                key=entry["key"].encode(),
                value=entry["value"].encode(),
                headers={"content-type": CONTENT_TYPE},
            )
            for _, entry in ordered
        ]

    @staticmethod
    async def _acknowledge(
        collection: AsyncCollection[dict[str, Any]], docs: list[dict[str, Any]]
    ) -> None:
        """Remove what was published, one round trip for the whole round; keep the marker
        of a document a writer added entries to meanwhile (its guard no longer matches).

        A bulk result does not say which guard missed, so then every document's published
        entries are unset again without the guard: a no-op where they are already gone,
        and where a writer added entries, theirs and the marker stay."""
        unsets = {
            doc["_id"]: {f"{OUTBOX}.{key}": "" for key in doc.get(OUTBOX) or {}} for doc in docs
        }
        if not unsets:
            return
        guarded = await collection.bulk_write(
            [
                UpdateOne(
                    {"_id": doc["_id"], OUTBOX_REV: doc.get(OUTBOX_REV)},
                    {"$unset": {**unsets[doc["_id"]], OUTBOX_PENDING: ""}},
                )
                for doc in docs
            ],
            ordered=False,
        )
        if guarded.matched_count < len(docs):
            await collection.bulk_write(
                [
                    UpdateOne({"_id": _id}, {"$unset": unset})
                    for _id, unset in unsets.items()
                    if unset
                ],
                ordered=False,
            )
