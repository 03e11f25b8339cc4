"""Applies consumed records exactly once in effect: validate → dispatch → retry or dead-letter.

A record is finished when its effect is stored, when it is parked (waiting durably for a
prerequisite, in its key's sequence: ``crm_runtime.sequences``), or when it sits in the
DLQ with its reason; only then may its offset be committed (the caller commits per batch).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
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
from crm_runtime.parking import ParkingStore, sequence_name
from crm_runtime.retry import RetriesExhausted, TransientRetry
from crm_runtime.sequences import ParkedSequences
from crm_runtime.store import CURRENT_BATCH
from crm_runtime.store_batch import StoreBatch

# A handler applies one event; it returns False when the event had already been applied.
Handler = Callable[[Any, CloudEvent], Awaitable[bool]]
# Prepares a poll's parsed events in bulk (business keys, aggregates) before keys run.
Preparer = Callable[[list[tuple[EventData, CloudEvent]]], Awaitable[None]]


@dataclass(frozen=True)
class DeadLetterReason:
    kind: str
    reason: str


Parsed = tuple[Handler, EventData, CloudEvent] | DeadLetterReason


log = get_logger(__name__)


def arrival_order(records: Iterable[Any]) -> dict[str, list[Any]]:
    """A batch's records grouped by key (sequence name), each group in arrival order.

    Kafka orders a partition only; one key's records from several topics are merged by
    record timestamp, never reordering within a partition (``heapq.merge`` keeps each
    input's order), so a registration produced after a purchase is seen after it.
    """
    lanes: dict[str, dict[tuple[str, int], list[Any]]] = {}
    for record in records:
        lane = lanes.setdefault(sequence_name(record), {})
        lane.setdefault((record.topic, record.partition), []).append(record)
    return {
        name: next(iter(parts.values()))
        if len(parts) == 1
        else list(heapq.merge(*parts.values(), key=_timestamp))
        for name, parts in lanes.items()
    }


def _timestamp(record: Any) -> int:
    return int(getattr(record, "timestamp", 0) or 0)


class EventConsumer:
    def __init__(
        self,
        *,
        dead_letters: DeadLetters,
        parking: ParkingStore,
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
        self._clock = clock
        self._health = health
        self._metrics = metrics
        self._max_bytes = max_event_bytes
        self._max_attempts = max_attempts_unexpected
        self._backoff = backoff
        self._registry = registry
        self.preparers: list[Preparer] = []
        self._durably = TransientRetry(health, metrics, backoff)
        self.sequences = ParkedSequences(
            parking,
            attempt=self._attempt,
            dead_letter=self._dead_letter,
            clock=clock,
            metrics=metrics,
            durably=self._durably,
            count=self._count,
        )

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
        per key is all a handler may rely on. A key with parked records applies its new
        ones behind them (``ParkedSequences``). Up to ``concurrency`` keys are in flight,
        which hides database round-trip latency. The poll is one ``StoreBatch``: business
        keys reserved and aggregates loaded in bulk first, decisions applied in memory,
        effects committed together, and only then parked records released and outcomes
        counted. Every record is finished before return.
        """
        groups = arrival_order(records)
        if not groups:
            return
        blocked = await self.sequences.blocked(list(groups))
        with StoreBatch(self._durably) as batch:
            await self._prepare(batch, groups, blocked)
            await self._run(groups, blocked)
            await batch.commit()

    async def _prepare(
        self, batch: StoreBatch, groups: dict[str, list[Any]], blocked: set[str]
    ) -> None:
        """Parse the records of keys without parked ones and hand them to the preparers.

        Keys with parked records are left out: their records may wait without an attempt,
        and nothing may be reserved for an event that is not attempted."""
        items = []
        for name, group in groups.items():
            if name in blocked:
                continue
            for record in group:
                parsed = batch.parsed[id(record)] = self._decode(record)
                if not isinstance(parsed, DeadLetterReason):
                    items.append((parsed[1], parsed[2]))
        for prepare in self.preparers if items else ():
            await self._durably("prepare batch", partial(prepare, items))

    async def _run(self, groups: dict[str, list[Any]], blocked: set[str]) -> None:
        if len(groups) <= 1 or self._concurrency <= 1:
            for name, group in groups.items():
                await self.sequences.consume(name, group, blocked=name in blocked)
            return
        gate = asyncio.Semaphore(self._concurrency)

        async def in_order(name: str, group: list[Any]) -> None:
            async with gate:
                await self.sequences.consume(name, group, blocked=name in blocked)

        async with asyncio.TaskGroup() as tasks:
            for name, group in groups.items():
                tasks.create_task(in_order(name, group))

    def _count(self, record: Any, outcome: str) -> None:
        """Count an outcome — after the batch's commit, which may turn an applied into a
        duplicate (its entries were already there)."""
        batch = CURRENT_BATCH.get()
        if isinstance(batch, StoreBatch):
            batch.after_commit(lambda: self._count_now(record, outcome, batch))
        else:
            self._metrics.consumed(topic=record.topic, outcome=outcome).inc()

    async def _count_now(self, record: Any, outcome: str, batch: StoreBatch) -> None:
        if outcome.endswith("applied") and batch.event_ids.get(id(record)) in batch.not_applied:
            outcome = outcome.replace("applied", "duplicate")
        self._metrics.consumed(topic=record.topic, outcome=outcome).inc()

    async def process(self, record: Any) -> None:
        await self.process_batch([record])

    async def _attempt(self, record: Any) -> str:
        """Parse and apply one record: its outcome, or ``MissingPrerequisite``."""
        started = time.perf_counter()
        try:
            parsed = await self._parse(record)
            if isinstance(parsed, str):
                return parsed
            return await self._apply(*parsed, record)
        finally:
            self._metrics.handle_seconds(topic=record.topic).observe(time.perf_counter() - started)

    def _decode(self, record: Any) -> Parsed:
        """The handler and validated event, or (DLQ kind, reason) when it is unusable."""
        try:
            # Structured or binary content mode (CloudEvents Kafka binding), same validation.
            envelope = decode_record(record.value, record.headers, max_bytes=self._max_bytes)
            logical_topic = record.topic.removeprefix(self._prefix)
            data = self._registry.parse(envelope, topic=logical_topic)
        except EnvelopeError as exc:
            return DeadLetterReason("envelope", exc.args[0])
        except SchemaError as exc:
            return DeadLetterReason("schema", exc.args[0])
        handler = self._handlers.get(type(data))
        if handler is None:
            return DeadLetterReason("schema", f"this service does not handle {envelope.type}")
        return handler, data, envelope

    async def _parse(self, record: Any) -> tuple[Handler, EventData, CloudEvent] | str:
        """The handler and validated event, or the DLQ outcome when the record is unusable."""
        batch = CURRENT_BATCH.get()
        scratch = batch if isinstance(batch, StoreBatch) else None
        parsed = (scratch.parsed.pop(id(record), None) if scratch else None) or self._decode(record)
        if isinstance(parsed, DeadLetterReason):
            return await self._dead_letter(record, parsed.kind, parsed.reason)
        handler, data, envelope = parsed
        structlog.contextvars.bind_contextvars(
            event_id=envelope.id, event_type=envelope.type, correlation_id=envelope.correlationid
        )
        if scratch is not None:
            scratch.event_ids[id(record)] = envelope.id
        return handler, data, envelope

    async def _apply(
        self, handler: Handler, data: EventData, envelope: CloudEvent, record: Any
    ) -> str:
        try:
            applied = await self._durably.retry.run(
                "handle",
                partial(handler, data, envelope),
                component="mongo",  # database unreachable: hold the partition, not ready
                outage=TRANSIENT_ERRORS,
                passthrough=(DomainError, MissingPrerequisite),
                attempts=self._max_attempts,
            )
        except DomainError as exc:
            return await self._dead_letter(record, exc.dlq_kind, exc.reason)
        except RetriesExhausted as exc:
            return await self._dead_letter(record, "handler-error", f"handler {exc}")
        outcome = "applied" if applied else "duplicate"
        log.debug("event_consumed", outcome=outcome)
        return outcome

    async def _dead_letter(self, record: Any, kind: str, reason: str) -> str:
        # The DLQ is Kafka: while it is down we must not move past this record.
        send = partial(self._dead_letters.send, record, kind=kind, reason=reason)
        await self._durably.retry.run("dead-letter", send, component="kafka", outage=(Exception,))
        self._metrics.dead_lettered(topic=record.topic, kind=kind).inc()
        log.warning("event_dead_lettered", kind=kind, reason=reason)
        return "dead_lettered"
