"""Durable due-dates: documents carry ``next_due_at`` (a ``timestamps.stamp`` string); a loop
hands the due ones to a handler.

The due date is written in the same update as the state that implies it, so a crash can
never lose a timer. The handler must be idempotent (it may see a document twice) and must
move or remove ``next_due_at`` when it has dealt with the document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from crm_runtime.clock import Clock
from crm_runtime.health import Health
from crm_runtime.logging import get_logger
from crm_runtime.metrics import Metrics
from crm_runtime.mongo import TRANSIENT_ERRORS
from crm_runtime.timestamps import stamp

NEXT_DUE_AT = "next_due_at"
DueHandler = Callable[[dict[str, Any], datetime], Awaitable[None]]
# Finds documents due at a stamp (the aggregate store's ``due``), instead of a collection.
DueFinder = Callable[[str, int], Awaitable[list[dict[str, Any]]]]
log = get_logger(__name__)


class DueDateSweeper:
    def __init__(
        self,
        name: str,
        collection: AsyncCollection[dict[str, Any]] | DueFinder,
        handler: DueHandler,
        *,
        clock: Clock,
        health: Health,
        interval_s: float,
        metrics: Metrics | None = None,
        batch_size: int = 100,
    ) -> None:
        self._metrics = metrics
        self.name = name
        self._collection = collection
        self._handler = handler
        self._clock = clock
        self._health = health
        self._interval = interval_s
        self._batch = batch_size

    async def sweep(self) -> int:
        """Handle every document due now; return how many were handled."""
        now = self._clock.now()
        if isinstance(self._collection, AsyncCollection):
            due = await self._collection.find(
                {NEXT_DUE_AT: {"$lte": stamp(now)}}, sort=[(NEXT_DUE_AT, 1)], limit=self._batch
            ).to_list()
        else:  # the aggregate store's finder
            due = await self._collection(stamp(now), self._batch)
        handled = 0
        for doc in due:
            try:
                await self._handler(doc, now)
            except TRANSIENT_ERRORS:
                raise  # the database is gone: the whole sweep is retried
            except Exception as exc:
                # One broken document must not hold up every timer due after it.
                # It stays due and is retried next sweep; the metric and log make it visible.
                log.exception("timer_failed", sweeper=self.name, document=str(doc["_id"]))
                if self._metrics is not None:
                    self._metrics.timer_failures(sweeper=self.name, error=type(exc).__name__).inc()
                continue
            handled += 1
        return handled

    async def run(self) -> None:
        await run_periodically(self.name, self.sweep, self._health, self._interval)


class PeriodicSweep:
    """Work done in bulk every interval (``work`` returns how much it did)."""

    def __init__(
        self, name: str, work: Callable[[], Awaitable[int]], *, health: Health, interval_s: float
    ) -> None:
        self.name = name
        self.sweep = work
        self._health = health
        self._interval = interval_s

    async def run(self) -> None:
        await run_periodically(self.name, self.sweep, self._health, self._interval)


async def run_periodically(
    name: str, sweep: Callable[[], Awaitable[int]], health: Health, interval_s: float
) -> None:
    component = f"sweeper:{name}"
    while True:
        try:
            await sweep()
            health.recover(component)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            health.fail(component, type(exc).__name__)
            log.warning("sweep_failed", sweeper=name, error=type(exc).__name__)
        await asyncio.sleep(interval_s)
