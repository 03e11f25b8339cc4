"""Applies consumed records exactly once in effect: validate → dispatch → retry or dead-letter.

A record is finished when its effect is stored, when it is parked (waiting durably for a
prerequisite), or when it sits in the DLQ with its reason; only then may its offset be
committed (the caller commits per batch).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

import structlog

from crm_events import (
    REGISTRY,
    CloudEvent,
    EnvelopeError,
    EventData,
    Registry,
    SchemaError,
    decode_record,
)
from crm_runtime.clock import Clock
from crm_runtime.dlq import DeadLetters
from crm_runtime.errors import DomainError, MissingPrerequisite
from crm_runtime.health import Health
from crm_runtime.logging import get_logger
from crm_runtime.metrics import Metrics
from crm_runtime.mongo import TRANSIENT_ERRORS
from crm_runtime.parking import ParkingLot

# A handler applies one event; it returns False when the event had already been applied.
Handler = Callable[[Any, CloudEvent], Awaitable[bool]]
log = get_logger(__name__)


class Backoff:
    def __init__(self, initial: float, maximum: float) -> None:
        self._maximum, self._next = maximum, initial

    async def wait(self) -> None:
        await asyncio.sleep(self._next)
        self._next = min(self._next * 2, self._maximum)


class EventConsumer:
    def __init__(
        self,
        *,
        dead_letters: DeadLetters,
        parking: ParkingLot,
        clock: Clock,
        health: Health,
        metrics: Metrics,
        max_event_bytes: int,
        max_attempts_unexpected: int,
        backoff: tuple[float, float],
        topic_prefix: str = "",
        concurrency: int = 1,
        registry: Registry = REGISTRY,
    ) -> None:
        self._concurrency = concurrency
        self._prefix = topic_prefix
        self._handlers: dict[type[EventData], Handler] = {}
        self._dead_letters = dead_letters
        self._parking = parking
        self._clock = clock
        self._health = health
        self._metrics = metrics
        self._max_bytes = max_event_bytes
        self._max_attempts = max_attempts_unexpected
        self._backoff = backoff
        self._registry = registry

    def on(self, model: type[EventData], handler: Handler) -> None:
        self._handlers[model] = handler

    @property
    def handlers(self) -> dict[type[EventData], Handler]:
        """What each consumed event type is dispatched to (read by the contract tests)."""
        return dict(self._handlers)

    @property
    def topics(self) -> list[str]:
        return sorted(self._prefix + model.topic() for model in self._handlers)

    async def process_batch(self, records: Iterable[Any]) -> None:
        """Records of one key (one customer) in order; different keys concurrently.

        Kafka only orders within a partition, and our key is the customer id, so ordering
        per key is all a handler may rely on. Up to ``concurrency`` keys are in flight,
        which hides database round-trip latency. Every record is finished before return.
        """
        by_key: dict[bytes | None, list[Any]] = {}
        for record in records:
            by_key.setdefault(record.key, []).append(record)
        if len(by_key) <= 1 or self._concurrency <= 1:
            for record in (r for group in by_key.values() for r in group):
                await self.process(record)
            return
        gate = asyncio.Semaphore(self._concurrency)

        async def in_order(group: list[Any]) -> None:
            async with gate:
                for record in group:
                    await self.process(record)

        async with asyncio.TaskGroup() as tasks:
            for group in by_key.values():
                tasks.create_task(in_order(group))

    async def process(self, record: Any) -> None:
        structlog.contextvars.bind_contextvars(
            topic=record.topic, partition=record.partition, offset=record.offset
        )
        started = time.perf_counter()
        try:
            outcome = await self._process(record)
            self._metrics.consumed(topic=record.topic, outcome=outcome).inc()
            self._metrics.handle_seconds(topic=record.topic).observe(time.perf_counter() - started)
        finally:
            structlog.contextvars.unbind_contextvars(
                "topic", "partition", "offset", "event_id", "event_type", "correlation_id"
            )

    async def _process(self, record: Any) -> str:
        parsed = await self._parse(record)
        if isinstance(parsed, str):
            return parsed
        try:
            return await self._apply(*parsed, record)
        except MissingPrerequisite as exc:
            await self._park(record, exc.reason)
            return "parked"

    async def _park(self, record: Any, reason: str) -> None:
        """Store the record durably; like a handler, wait out a database outage here rather
        than failing (and rewinding) the whole batch."""
        backoff = Backoff(*self._backoff)
        while True:
            try:
                await self._parking.park(record, reason, self._clock.now())
            except TRANSIENT_ERRORS as exc:
                self._health.fail("mongo", type(exc).__name__)
                self._metrics.retries(kind="transient").inc()
                log.warning("park_transient_failure", error=type(exc).__name__)
                await backoff.wait()
                continue
            self._health.recover("mongo")
            log.info("event_parked", reason=reason)
            return

    async def retry_parked(self, doc: dict[str, Any], now: datetime) -> None:
        """Sweeper callback: try a parked record again; DLQ it once its grace has passed."""
        record = self._parking.record_of(doc)
        parsed = await self._parse(record)
        if not isinstance(parsed, str):
            try:
                outcome = await self._apply(*parsed, record)
            except MissingPrerequisite as exc:
                if not self._parking.expired(doc, now):
                    await self._parking.retry_later(doc, now)
                    return
                reason = f"{exc.reason} (still missing when the parking grace period ended)"
                outcome = await self._dead_letter(record, "prerequisite-missing", reason)
            self._metrics.consumed(topic=record.topic, outcome=f"unparked_{outcome}").inc()
        await self._parking.release(doc)

    async def _parse(self, record: Any) -> tuple[Handler, EventData, CloudEvent] | str:
        """The handler and validated event, or the DLQ outcome when the record is unusable."""
        try:
            # Structured or binary content mode (CloudEvents Kafka binding), same validation.
            envelope = decode_record(record.value, record.headers, max_bytes=self._max_bytes)
            structlog.contextvars.bind_contextvars(
                event_id=envelope.id,
                event_type=envelope.type,
                correlation_id=envelope.correlationid,
            )
            logical_topic = record.topic.removeprefix(self._prefix)
            data = self._registry.parse(envelope, topic=logical_topic)
            handler = self._handlers.get(type(data))
            if handler is None:
                raise SchemaError(f"this service does not handle {envelope.type}")
        except EnvelopeError as exc:
            return await self._dead_letter(record, "envelope", exc.args[0])
        except SchemaError as exc:
            return await self._dead_letter(record, "schema", exc.args[0])
        return handler, data, envelope

    async def _apply(
        self, handler: Handler, data: EventData, envelope: CloudEvent, record: Any
    ) -> str:
        backoff = Backoff(*self._backoff)
        failures = 0
        while True:
            try:
                applied = await handler(data, envelope)
            except DomainError as exc:
                return await self._dead_letter(record, exc.dlq_kind, exc.reason)
            except MissingPrerequisite:
                raise
            except TRANSIENT_ERRORS as exc:
                # Database unreachable: hold the partition, report not-ready, try again.
                self._health.fail("mongo", type(exc).__name__)
                self._metrics.retries(kind="transient").inc()
                log.warning("handler_transient_failure", error=type(exc).__name__)
                await backoff.wait()
                continue
            except Exception as exc:
                failures += 1
                self._metrics.retries(kind="unexpected").inc()
                log.exception("handler_failed", attempt=failures)
                if failures >= self._max_attempts:
                    reason = f"handler failed {failures} times: {type(exc).__name__}: {exc}"
                    return await self._dead_letter(record, "handler-error", reason)
                await backoff.wait()
                continue
            self._health.recover("mongo")
            outcome = "applied" if applied else "duplicate"
            log.debug("event_consumed", outcome=outcome)
            return outcome

    async def _dead_letter(self, record: Any, kind: str, reason: str) -> str:
        backoff = Backoff(*self._backoff)
        while True:
            try:
                await self._dead_letters.send(record, kind=kind, reason=reason)
            except Exception:
                # The DLQ is Kafka: if it is down we must not move past this record.
                self._health.fail("kafka", "dlq publish failed")
                log.exception("dlq_publish_failed")
                await backoff.wait()
                continue
            self._health.recover("kafka")
            self._metrics.dead_lettered(topic=record.topic, kind=kind).inc()
            log.warning("event_dead_lettered", kind=kind, reason=reason)
            return "dead_lettered"
