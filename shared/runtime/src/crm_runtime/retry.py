"""One retry policy for the consumer: capped exponential backoff; failures the outside world
causes (the database or the broker unreachable) are waited out for as long as they last,
with readiness false meanwhile; failures of our own code are retried a bounded number of
times and then given up (the caller dead-letters the record)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from crm_runtime.health import Health
from crm_runtime.logging import get_logger
from crm_runtime.metrics import Metrics
from crm_runtime.mongo import TRANSIENT_ERRORS

T = TypeVar("T")
Errors = tuple[type[BaseException], ...]
log = get_logger(__name__)


class Backoff:
    def __init__(self, initial: float, maximum: float) -> None:
        self._maximum, self._next = maximum, initial

    async def wait(self) -> None:
        await asyncio.sleep(self._next)
        self._next = min(self._next * 2, self._maximum)


class RetriesExhausted(Exception):
    """A step kept failing with an error that is not an outage."""

    def __init__(self, failures: int, last: BaseException) -> None:
        super().__init__(f"failed {failures} times: {type(last).__name__}: {last}")
        self.failures, self.last = failures, last


class Retry:
    def __init__(self, health: Health, metrics: Metrics, backoff: tuple[float, float]) -> None:
        self._health = health
        self._metrics = metrics
        self._backoff = backoff

    async def run(
        self,
        step: str,
        operation: Callable[[], Awaitable[T]],
        *,
        component: str,
        outage: Errors,
        passthrough: Errors = (),
        attempts: int = 0,
    ) -> T:
        """``operation()`` until it succeeds. ``outage`` errors are retried for ever with
        ``component`` reported failing; ``passthrough`` errors propagate at once; any other
        ``Exception`` is retried ``attempts`` times in all (0: propagates at once), then
        ``RetriesExhausted``."""
        backoff, failures = Backoff(*self._backoff), 0
        while True:
            try:
                result = await operation()
            except passthrough:
                raise
            except outage as exc:
                self._health.fail(component, type(exc).__name__)
                self._metrics.retries(kind="transient").inc()
                log.warning("retrying_outage", step=step, error=type(exc).__name__)
            except Exception as exc:
                if attempts <= 0:
                    raise
                failures += 1
                self._metrics.retries(kind="unexpected").inc()
                log.exception("step_failed", step=step, attempt=failures)
                if failures >= attempts:
                    raise RetriesExhausted(failures, exc) from exc
            else:
                self._health.recover(component)
                return result
            await backoff.wait()


class TransientRetry:
    """A storage step repeated until MongoDB answers: a blip must not fail (and rewind) a
    whole batch, and nothing may move past a record that is not stored yet."""

    def __init__(self, health: Health, metrics: Metrics, backoff: tuple[float, float]) -> None:
        self.retry = Retry(health, metrics, backoff)

    async def __call__(self, step: str, operation: Callable[[], Awaitable[T]]) -> T:
        return await self.retry.run(step, operation, component="mongo", outage=TRANSIENT_ERRORS)
