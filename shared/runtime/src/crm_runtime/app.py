"""``ServiceRuntime``: composes one service process — HTTP API, Kafka consumer, outbox relay,
sweepers — with health, readiness, metrics and docs. No I/O happens before start-up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any, cast

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from pymongo.asynchronous.collection import AsyncCollection

from crm_events import EventData
from crm_events.service_asyncapi import service_asyncapi_document
from crm_runtime.business_keys import BusinessKeyGuard
from crm_runtime.clock import Clock, SystemClock
from crm_runtime.consumer import EventConsumer, Handler
from crm_runtime.dlq import DeadLetters
from crm_runtime.errors import DomainError
from crm_runtime.health import Health
from crm_runtime.http import document_errors, domain_error, unavailable, validation_error
from crm_runtime.kafka import BrokerPublisher, make_broker, subscribe
from crm_runtime.logging import configure_logging, get_logger
from crm_runtime.metrics import Metrics
from crm_runtime.mongo import TRANSIENT_ERRORS, CommandCounter, connect
from crm_runtime.mongo_store import MongoBackend
from crm_runtime.ops import ops_router
from crm_runtime.outbox import OutboxRelay
from crm_runtime.parking import ParkingStore
from crm_runtime.scheduler import DueDateSweeper, DueFinder, DueHandler, PeriodicSweep
from crm_runtime.settings import ServiceSettings
from crm_runtime.shutdown import SHUTDOWN_BUDGET_S, drain_outbox, step
from crm_runtime.startup import retry_until
from crm_runtime.store import AggregateStore, Backend, Codec, S, check_marker_lifetime
from crm_runtime.store_batch import StoreBatch
from crm_runtime.topics import TopicPolicy, dlq_topic, provision_topics

Hook = Callable[[], Awaitable[Any]]
log = get_logger(__name__)


# (store, id(s) of the aggregate(s) a record's payload touches; None: none for this record)
AggregateOf = tuple[AggregateStore[Any], Callable[[Any], str | Iterable[str] | None]]


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        clock: Clock | None = None,
        backend: Backend | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.source = f"/crm/{settings.service_name}"
        self.health = Health()
        self.metrics = Metrics(settings.service_name)
        self.mongo = connect(
            settings.mongo_uri.get_secret_value(),
            timeout_ms=settings.mongo_timeout_ms,
            app_name=f"crm-{settings.service_name}",
            listeners=[CommandCounter(self.metrics.mongo_commands)],
        )
        self.db = self.mongo[settings.mongo_database]
        self.broker = make_broker(settings)
        self.publisher = BrokerPublisher(self.broker)
        # Where aggregates and parked records live: MongoDB, or the unit tests' memory.
        self.backend: Any = backend or MongoBackend(self.db)
        self.parking: ParkingStore = self.backend.parking(
            retry_every=timedelta(seconds=settings.park_retry_s),
            grace=timedelta(seconds=settings.park_grace_s),
        )
        self.consumer = EventConsumer(
            parking=self.parking,
            clock=self.clock,
            dead_letters=DeadLetters(self.publisher, group_id=settings.group_id, clock=self.clock),
            health=self.health,
            metrics=self.metrics,
            max_event_bytes=settings.max_event_bytes,
            max_attempts_unexpected=settings.max_attempts_unexpected,
            backoff=(settings.retry_initial_backoff_s, settings.retry_max_backoff_s),
            topic_prefix=settings.kafka_topic_prefix,
            concurrency=settings.consumer_concurrency,
        )
        self.business_keys = BusinessKeyGuard(self.backend.business_keys(), self.clock)
        self.consumer.preparers += [self.business_keys.prefetch, self._prefetch_aggregates]
        self._aggregate_of: dict[type[EventData], list[AggregateOf]] = {}
        self.consumed: list[type[EventData]] = []
        self.published: list[type[EventData]] = []
        self.relay: OutboxRelay | None = None
        self.sweepers: list[DueDateSweeper | PeriodicSweep] = []
        self._startup_hooks: list[Hook] = [self.parking.ensure_indexes]
        self._tasks: list[asyncio.Task[None]] = []
        self.subscriber: Any = None
        self.sweep("parking", self.parking.due_documents, self.consumer.sequences.release_due)

    # --- composition -------------------------------------------------------------------
    def on(
        self,
        model: type[EventData],
        handler: Handler,
        *,
        aggregate: AggregateOf | Sequence[AggregateOf] | None = None,
    ) -> None:
        """Consume ``model``: every handler runs behind its type's business-key rule.

        ``aggregate=(store, id_of)`` names the aggregate a record's payload touches — or a
        list of them: every aggregate the handler reads or writes — so a poll's aggregates
        are loaded with one query per store before its records run. An aggregate not named
        still works (``AggregateStore.get`` loads it inside the batch), at one round trip
        per aggregate instead of one per poll."""
        self.consumed.append(model)
        self.consumer.on(model, self.business_keys.wrap(model, handler))
        if aggregate is not None:
            single = isinstance(aggregate[0], AggregateStore)
            for pair in [aggregate] if single else aggregate:
                self.reads(model, cast(AggregateOf, pair))

    def reads(self, model: type[EventData], aggregate: AggregateOf) -> None:
        """``model``'s handler reads (or writes) this aggregate, perhaps by a rule another
        module owns: load it with the poll's other aggregates."""
        self._aggregate_of.setdefault(model, []).append(aggregate)

    def aggregates(self, codec: Codec[S]) -> AggregateStore[S]:
        """The store of one aggregate type; refuses to start when applied markers would be
        forgotten before the topics forget the events (a replay would apply them twice)."""
        lifetime = self.settings.applied_marker_lifetime_s
        marker_lifetime = None if lifetime is None else timedelta(seconds=lifetime)
        try:
            check_marker_lifetime(marker_lifetime, self.settings.kafka_retention_ms)
        except ValueError as exc:
            log.error("applied_markers_outlived_by_topics", reason=str(exc))
            raise
        store = AggregateStore(
            self.backend,
            codec,
            clock=self.clock,
            marker_lifetime=marker_lifetime,
            on_outbox=self.notify_outbox,
        )
        self._startup_hooks.append(lambda: self.backend.prepare(codec.collection))
        grace = timedelta(seconds=self.settings.pending_entries_grace_s)
        self.sweepers.append(
            PeriodicSweep(
                f"entries:{codec.collection}",
                lambda: store.finish_entries(older_than=grace),
                health=self.health,
                interval_s=self.settings.sweep_interval_s,
            )
        )
        return store

    async def _prefetch_aggregates(self, items: list[tuple[EventData, Any]]) -> None:
        batch = StoreBatch.current()
        if batch is None:
            return
        wanted: dict[int, tuple[AggregateStore[Any], list[str]]] = {}
        for data, _ in items:
            for store, id_of in self._aggregate_of.get(type(data), ()):
                found = id_of(data)
                if found is not None:
                    ids = wanted.setdefault(id(store), (store, []))[1]
                    ids.extend([found] if isinstance(found, str) else found)
        for store, ids in wanted.values():
            await batch.prefetch(store, ids)

    def sweep_aggregates(
        self, name: str, store: AggregateStore[S], handler: Callable[[S, Any], Awaitable[None]]
    ) -> None:
        """Timers over a store: ``handler(aggregate, now)`` for every aggregate due."""

        async def due(doc: dict[str, Any], now: Any) -> None:
            await handler(store.decode(doc), now)

        self.sweep(name, lambda now, limit: store.backend.due(store.collection, now, limit), due)

    def on_startup(self, hook: Hook) -> None:
        self._startup_hooks.append(hook)

    def publishes(
        self, models: Sequence[type[EventData]], outboxes: Sequence[AsyncCollection[Any]]
    ) -> None:
        self.published.extend(models)
        self.relay = OutboxRelay(
            outboxes,
            self.publisher,
            metrics=self.metrics,
            health=self.health,
            poll_interval_s=self.settings.outbox_poll_interval_s,
            topic_prefix=self.settings.kafka_topic_prefix,
        )

    def sweep(
        self, name: str, collection: AsyncCollection[Any] | DueFinder, handler: DueHandler
    ) -> None:
        self.sweepers.append(
            DueDateSweeper(
                name,
                collection,
                handler,
                clock=self.clock,
                health=self.health,
                interval_s=self.settings.sweep_interval_s,
                metrics=self.metrics,
            )
        )

    def notify_outbox(self) -> None:
        if self.relay is not None:
            self.relay.notify()

    @property
    def topics(self) -> list[str]:
        consumed = self.consumer.topics
        published = {self.settings.kafka_topic_prefix + m.topic() for m in self.published}
        return sorted({*consumed, *map(dlq_topic, consumed), *published})

    # --- lifecycle -------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        settings = self.settings
        policy = TopicPolicy(
            partitions=settings.kafka_topic_partitions,
            replication_factor=settings.kafka_replication_factor,
            retention_ms=settings.kafka_retention_ms,
            dlq_retention_ms=settings.kafka_dlq_retention_ms,
            min_insync_replicas=settings.kafka_min_insync_replicas,
        )
        report = await retry_until(
            lambda: provision_topics(self.topics, policy, client_kwargs=settings.aiokafka_kwargs()),
            what="kafka topics",
        )
        self.metrics.topics_short.set(len(report.short))
        for hook in self._startup_hooks:
            await retry_until(hook, what="startup hook")
        await self.broker.start()
        if self.relay is not None:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for sweeper in self.sweepers:
            self._tasks.append(asyncio.create_task(sweeper.run(), name=sweeper.name))
        self.health.started = True
        log.info("service_started", topics=self.consumer.topics, group=settings.group_id)

    async def stop(self) -> None:
        """Finish the in-flight batch, stop timers, flush the outbox, then disconnect.

        Shutdown has one budget, ``SHUTDOWN_BUDGET_S``, well inside the 30 s grace period
        (Kubernetes' default; compose's stop_grace_period) together with uvicorn's HTTP drain:
        every step gets at most its own deadline and never more than what is left of the
        budget, a step that overruns is abandoned rather than awaited, and the outbox is not
        flushed while the broker is unreachable (the relay publishes it after the restart).
        Whatever is left undone is redelivered or relayed after the restart. With Kafka or
        MongoDB gone, the steps used to wait out their deadlines one after another (29 s
        in all), so a container stopped after its broker was SIGKILLed (issue 13).
        """
        self.health.stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_BUDGET_S

        def left(step_s: float) -> float:
            return max(0.0, min(step_s, deadline - loop.time()))

        if self.subscriber is not None:
            await step("stop consuming", self.subscriber.stop(), left(10))
        for task in self._tasks:
            task.cancel()
        await step("stop timers", asyncio.gather(*self._tasks, return_exceptions=True), left(2))
        if self.relay is not None:
            if await self.broker.ping(timeout=left(1) or 0.01):
                await step("flush outbox", drain_outbox(self.relay), left(5))
            else:
                log.warning(
                    "shutdown_step_skipped", step="flush outbox", reason="kafka unreachable"
                )
        await step("disconnect kafka", self.broker.stop(), left(3))
        await step("disconnect mongo", self.mongo.close(), left(2))
        log.info("service_stopped")

    async def readiness(self) -> dict[str, str]:
        problems = dict(self.health.degraded)
        if not self.health.started or self.health.stopping:
            problems["service"] = "starting" if not self.health.started else "stopping"
        try:
            await asyncio.wait_for(self.mongo.admin.command("ping"), timeout=2)
        except Exception as exc:
            problems["mongo"] = type(exc).__name__
        if not await self.broker.ping(timeout=2):
            problems["kafka"] = "unreachable"
        if self.subscriber is not None and not _consuming(self.subscriber):
            problems["consumer"] = "not running"
        return problems

    # --- HTTP --------------------------------------------------------------------------------
    def build_app(self, *, title: str, routers: Sequence[APIRouter]) -> FastAPI:
        settings = self.settings
        configure_logging(
            level=settings.log_level, json=settings.log_json, service=settings.service_name
        )
        app = FastAPI(title=title, version="0.1.0", lifespan=self.lifespan)
        app.state.api_keys = dict(settings.api_keys)
        app.state.runtime = self
        self.subscriber = (
            subscribe(self.broker, self.consumer, settings) if self.consumer.topics else None
        )
        for router in routers:
            document_errors(router.routes)
            app.include_router(router)
        app.include_router(ops_router(self))
        app.add_exception_handler(RequestValidationError, validation_error)
        app.add_exception_handler(DomainError, domain_error)
        for exc_type in TRANSIENT_ERRORS:
            app.add_exception_handler(exc_type, unavailable)
        return app

    def asyncapi(self) -> dict[str, Any]:
        """This service's AsyncAPI document, from what it really consumes and publishes."""
        return service_asyncapi_document(
            self.settings.service_name, receives=self.consumed, sends=self.published
        )


def _consuming(subscriber: Any) -> bool:
    """FastStream runs (and restarts) the consume loop as a task of the subscriber."""
    tasks = getattr(subscriber, "tasks", [])
    return bool(getattr(subscriber, "running", False)) and any(not t.done() for t in tasks)
