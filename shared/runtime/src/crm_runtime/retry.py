"""Waiting out a database outage: capped exponential backoff, readiness false meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from crm_runtime.health import Health
from crm_runtime.logging import get_logger
from crm_runtime.metrics import Metrics
from crm_runtime.mongo import TRANSIENT_ERRORS

T = TypeVar("T")
log = get_logger(__name__)


class Backoff:
    def __init__(self, initial: float, maximum: float) -> None:
        self._maximum, self._next = maximum, initial

    async def wait(self) -> None:
        await asyncio.sleep(self._next)
        self._next = min(self._next * 2, self._maximum)


class TransientRetry:
    """Repeats a storage step until MongoDB answers: a blip must not fail (and rewind) a
    whole batch, and nothing may move past a record that is not stored yet."""

    def __init__(self, health: Health, metrics: Metrics, backoff: tuple[float, float]) -> None:
        self._health = health
        self._metrics = metrics
        self._backoff = backoff

    async def __call__(self, step: str, operation: Callable[[], Awaitable[T]]) -> T:
        backoff = Backoff(*self._backoff)
        while True:
            try:
                result = await operation()
            except TRANSIENT_ERRORS as exc:
                self._health.fail("mongo", type(exc).__name__)
                self._metrics.retries(kind="transient").inc()
                log.warning("storage_transient_failure", step=step, error=type(exc).__name__)
                await backoff.wait()
                continue
            self._health.recover("mongo")
            return result
