"""Benchmark: N ContactLogged events through the contacts consumer vs. a raw loop.

Both paths read the same kind of pre-produced topic and make the same MongoDB writes per
event (an existence check of the customer, then an insert of the timeline entry keyed by
the event id); the raw loop is plain aiokafka ``getmany`` + pymongo ``AsyncMongoClient``
with one offset commit per batch, the service path is the real contacts service
(``crm_contacts.app.create_app``) running in this process with its lifespan. See
``bench/README.md`` for what is measured and how.

    uv run --frozen python bench/contacts_consumer.py --events 5000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import os
import platform
import shlex
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pymongo
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from crm_contacts import codec, decisions, translate
from crm_contacts.app import create_app
from crm_contacts.rules import Rules
from crm_contacts.settings import ContactsSettings
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.examples import load_golden
from crm_runtime.clock import SystemClock
from crm_runtime.mongo_store import MongoBackend
from crm_runtime.store import AggregateStore
from crm_runtime.topics import ensure_topics

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
STATE_DIR = REPO / ".stack" / "bench"
MONGO_VENV = REPO / ".stack" / "mongo-venv"  # shared with the dev and test stacks
KAFKA_PORT, MONGO_PORT = 39192, 38217
DUPLICATE_KEY = 11000
TARGET_RATIO = 0.90  # issue 7: service >= 90% of the batched raw loop's rate
PARTITIONS = 4  # the runtime's default kafka_topic_partitions
# Tansu (the fallback where no Java exists): a group join waits half the session timeout,
# and it refuses the idempotent producer. Apache Kafka takes the usual settings.
ON_TANSU = {"value": False}


def session_timeout_ms() -> int:
    return 3000 if ON_TANSU["value"] else 10_000


# Connection management and start-up work, not per-event round trips.
NOT_ROUND_TRIPS = frozenset(
    {
        "ping",
        "hello",
        "isMaster",
        "ismaster",
        "endSessions",
        "buildInfo",
        "buildinfo",
        "createIndexes",
        "listIndexes",
        "dropDatabase",
    }
)
# The writes of ``ContactsService.on_contact_logged``; anything else is background work
# (outbox relay polls, parking sweeper).
HANDLER_COMMANDS = frozenset({("find", "customers[_id]"), ("insert", "timeline")})


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- instrumentation -------------------------------------------------------------------------
class CommandCounter(monitoring.CommandListener):
    """Counts MongoDB commands per (database, command, collection) for every client."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.micros: Counter[str] = Counter()  # client-observed command latency per database
        # ... and per (database, command:collection), to tell which command costs the time
        self.micros_by_command: Counter[tuple[str, str]] = Counter()
        self._started: dict[int, tuple[str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in NOT_ROUND_TRIPS:
            return
        target = event.command.get(name)
        collection = target if isinstance(target, str) else str(event.command.get("collection"))
        if name == "find":  # tell the handler's lookup by _id from background polls
            collection += "[" + ",".join(sorted(event.command.get("filter", {}))) + "]"
        self.counts[(event.database_name, name, collection)] += 1
        self._started[event.request_id] = (event.database_name, f"{name}:{collection}")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._finished(event)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finished(event)

    def _finished(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent
    ) -> None:
        if event.command_name not in NOT_ROUND_TRIPS:
            self.micros[event.database_name] += event.duration_micros
            key = self._started.pop(event.request_id, None)
            if key is not None:
                self.micros_by_command[key] += event.duration_micros

    def wait_by_command(self, database: str) -> dict[str, float]:
        """Milliseconds waited per ``command:collection`` against ``database``."""
        return {
            command: round(micros / 1000, 1)
            for (db, command), micros in self.micros_by_command.most_common()
            if db == database
        }

    def snapshot(self, database: str) -> Counter[str]:
        return Counter(
            {f"{cmd}:{coll}": n for (db, cmd, coll), n in self.counts.items() if db == database}
        )


class GcTimer:
    """Total time the cyclic garbage collector ran in this process."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections += 1


GC = GcTimer()


@dataclass(frozen=True)
class Mark:
    """A point in time: wall clock, this process's CPU and GC time, Mongo latency so far."""

    wall: float
    cpu: float
    gc: float
    gc_collections: int
    mongo_us: int

    @classmethod
    def now(cls, database: str) -> Mark:
        return cls(
            time.perf_counter(),
            time.process_time(),
            GC.seconds,
            GC.collections,
            COMMANDS.micros[database],
        )


COMMANDS = CommandCounter()
# Must happen before any client exists: the service creates its client in create_app().
monitoring.register(COMMANDS)

KAFKA_COMMITS: Counter[str] = Counter()
_original_commit = AIOKafkaConsumer.commit


async def _counting_commit(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> Any:
    KAFKA_COMMITS[self._group_id] += 1
    return await _original_commit(self, *args, **kwargs)


# Counts offset commits of every consumer in this process (FastStream's included).
AIOKafkaConsumer.commit = _counting_commit


# --- results -----------------------------------------------------------------------------------
@dataclass
class PathResult:
    path: str  # "raw" | "service"
    run: int
    events: int
    seconds: float  # first batch handed over -> N-th event stored
    seconds_with_startup: float  # consumer start -> N-th event stored
    events_per_s: float
    events_per_s_with_startup: float
    mongo_commands: dict[str, int]
    mongo_round_trips_per_event: float
    # Where a steady-state event's time goes (ms/event, first batch -> last stored):
    mongo_wait_ms_per_event: float  # client-observed latency of the Mongo commands
    client_cpu_ms_per_event: float  # CPU of this process (consumer, handler, drivers)
    gc_ms_per_event: float  # of which the cyclic garbage collector
    gc_collections: int
    handler_round_trips_per_event: float
    kafka_commits: int
    stored: int
    duplicates: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def result(
    path: str,
    run: int,
    n: int,
    *,
    t_start: float,
    first: Mark,
    done: Mark,
    commands: Counter[str],
    commits: int,
    stored: int,
    duplicates: int = 0,
    extra: dict[str, Any] | None = None,
) -> PathResult:
    total = sum(commands.values())
    t_first, t_done = first.wall, done.wall
    handler = sum(v for k, v in commands.items() if tuple(k.split(":", 1)) in HANDLER_COMMANDS)
    return PathResult(
        path=path,
        run=run,
        events=n,
        seconds=round(t_done - t_first, 4),
        seconds_with_startup=round(t_done - t_start, 4),
        events_per_s=round(n / (t_done - t_first), 1),
        events_per_s_with_startup=round(n / (t_done - t_start), 1),
        mongo_commands=dict(sorted(commands.items())),
        mongo_round_trips_per_event=round(total / n, 4),
        mongo_wait_ms_per_event=round((done.mongo_us - first.mongo_us) / 1000 / n, 4),
        client_cpu_ms_per_event=round((done.cpu - first.cpu) * 1000 / n, 4),
        gc_ms_per_event=round((done.gc - first.gc) * 1000 / n, 4),
        gc_collections=done.gc_collections - first.gc_collections,
        handler_round_trips_per_event=round(handler / n, 4),
        kafka_commits=commits,
        stored=stored,
        duplicates=duplicates,
        extra=extra or {},
    )


# --- fixtures: customers and events --------------------------------------------------------------
def customer_ids(count: int) -> list[str]:
    return [f"cus-bench-{i:05d}" for i in range(count)]


def contact_values(n: int, customers: list[str]) -> list[tuple[bytes, bytes]]:
    """N golden ContactLogged events with unique ids, spread round-robin over customers."""
    golden = load_golden(ContactLogged)
    items = []
    for i in range(n):
        customer = customers[i % len(customers)]
        data = {**golden.data, "customer_id": customer}
        data["occurred_at"] = f"2026-03-01T{(i // 60) % 24:02d}:{i % 60:02d}:00+00:00"
        update = {"id": str(uuid.uuid4()), "subject": customer, "data": data}
        event = golden.model_copy(update=update)
        items.append((customer.encode(), event.to_bytes()))
    return items


async def prepare(
    mongo_uri: str, kafka: str, database: str, topic: str, customers: list[str], values: Any
) -> None:
    """Indexes + customers through the service's own store and codec (its exact document
    shape), then the topic."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    try:
        await codec.ensure_indexes(client[database])
        store = AggregateStore(
            MongoBackend(client[database]),
            codec.CustomerCodec(),
            clock=SystemClock(),
            marker_lifetime=None,
        )
        golden = load_golden(CustomerRegistered)
        clock, rules = SystemClock(), Rules()
        for cid in customers:
            data = CustomerRegistered.model_validate({**golden.data, "customer_id": cid})
            fact = translate.registration(data, golden.model_copy(update={"id": f"reg-{cid}"}))
            ctx = decisions.Context(rules, "bench", clock.now(), fact.event_id)
            rule = partial(decisions.register, fact=fact, announce=[], ctx=ctx)
            await store.apply(cid, fact.event_id, rule)
    finally:
        await client.close()
    admin = {"bootstrap_servers": kafka}
    await ensure_topics([topic], partitions=PARTITIONS, replication_factor=1, client_kwargs=admin)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in values]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def stored_and_drop(mongo_uri: str, database: str, *, keep: bool) -> int:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    try:
        stored = await client[database]["timeline"].count_documents({"kind": "contact"})
        if not keep:
            try:
                await client.drop_database(database)
            except Exception as exc:
                log(f"could not drop {database}: {type(exc).__name__}: {exc}")
        return stored
    finally:
        await client.close()


# --- raw path ------------------------------------------------------------------------------------
def timeline_doc(body: dict[str, Any]) -> dict[str, Any]:
    """The timeline entry MongoContactsRepository.add_entry stores for a ContactLogged."""
    data = body["data"]
    return {
        "_id": body["id"],
        "customer_id": data["customer_id"],
        "kind": "contact",
        "occurred_at": datetime.fromisoformat(data["occurred_at"]),
        "details": {
            "channel": data["channel"],
            "direction": data["direction"],
            "employee_id": data["employee_id"],
            "summary": data["summary"],
            "duration_seconds": data.get("duration_seconds"),
        },
    }


async def store_batch(
    records: list[Any], customers: AsyncCollection[Any], timeline: AsyncCollection[Any]
) -> tuple[int, int, int]:
    """--batched reference: the same effects with two round trips per poll, not per event
    (one ``$in`` existence check, one unordered ``insert_many``; E11000 = duplicate)."""
    bodies = [json.loads(r.value) for r in records]
    wanted = sorted({b["data"]["customer_id"] for b in bodies})
    known = {d["_id"] async for d in customers.find({"_id": {"$in": wanted}}, {"_id": 1})}
    docs = [timeline_doc(b) for b in bodies if b["data"]["customer_id"] in known]
    duplicates = 0
    if docs:
        try:
            await timeline.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors):
                raise
            duplicates = len(errors)
    return len(docs) - duplicates, duplicates, len(bodies) - len(docs)


async def run_raw(
    run: int,
    n: int,
    *,
    kafka: str,
    mongo_uri: str,
    batch: int,
    database: str,
    topic: str,
    profile: cProfile.Profile | None,
    batched: bool = False,
) -> PathResult:
    group = f"{database}-group"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri,
        appname="bench-raw",
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
        socketTimeoutMS=10_000,
        tz_aware=True,
        uuidRepresentation="standard",
    )
    customers = client[database]["customers"]
    timeline = client[database]["timeline"]
    await client.admin.command("ping")  # connect outside the measurement, as the service does
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=session_timeout_ms(),
        heartbeat_interval_ms=session_timeout_ms() // 3,
        max_poll_interval_ms=600_000,
    )
    before = COMMANDS.snapshot(database)
    t_start = time.perf_counter()
    if profile is not None:
        profile.enable()
    await consumer.start()
    processed = duplicates = missing = 0
    first = done = None
    deadline = t_start + timeout_for(n)
    try:
        while processed < n:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"raw loop: {processed}/{n} events after {timeout_for(n)} s")
            batches = await consumer.getmany(timeout_ms=100, max_records=batch)
            if not batches:
                continue
            if first is None:
                first = Mark.now(database)
            records = [r for part in batches.values() for r in part]
            if batched:
                applied, dup, miss = await store_batch(records, customers, timeline)
                processed, duplicates, missing = (
                    processed + applied + dup,
                    duplicates + dup,
                    missing + miss,
                )
            else:
                for record in records:
                    body = json.loads(record.value)
                    customer_id = body["data"]["customer_id"]
                    if await customers.find_one({"_id": customer_id}, {"_id": 1}) is None:
                        missing += 1  # the service would park it; never happens here
                        continue
                    try:
                        await timeline.insert_one(timeline_doc(body))
                    except DuplicateKeyError:
                        duplicates += 1
                    processed += 1
            if processed >= n:
                done = Mark.now(database)
            await consumer.commit()
    finally:
        if profile is not None:
            profile.disable()
        await consumer.stop()
        after = COMMANDS.snapshot(database)
        await client.close()
    if missing:
        raise RuntimeError(f"raw loop: {missing} events for unknown customers")
    assert first is not None
    assert done is not None
    return result(
        "raw-batched" if batched else "raw",
        run,
        n,
        t_start=t_start,
        first=first,
        done=done,
        commands=after - before,
        commits=KAFKA_COMMITS[group],
        stored=0,
        duplicates=duplicates,
        extra={"mongo_wait_ms_by_command": COMMANDS.wait_by_command(database)},
    )


# --- service path --------------------------------------------------------------------------------
async def run_service(
    run: int,
    n: int,
    *,
    kafka: str,
    mongo_uri: str,
    batch: int,
    database: str,
    prefix: str,
    profile: cProfile.Profile | None,
) -> PathResult:
    group = f"{database}-group"
    settings = ContactsSettings(
        kafka_bootstrap_servers=kafka,
        mongo_uri=mongo_uri,
        mongo_database=database,
        kafka_topic_prefix=prefix,
        kafka_group_id=group,
        kafka_session_timeout_ms=session_timeout_ms(),
        kafka_idempotent_producer=not ON_TANSU["value"],
        consumer_batch_size=batch,
        log_level="WARNING",
    )
    app = create_app(settings)
    runtime = app.state.runtime
    topic = prefix + ContactLogged.topic()
    first: list[Mark] = []
    done: list[Mark] = []
    finished = asyncio.Event()
    handed_over = 0
    process_batch = runtime.consumer.process_batch

    async def timed_batch(records: Iterable[Any]) -> None:
        # process_batch returns once every record's effect is stored (or parked/DLQ'd);
        # the outcomes are checked against the service's own counters below.
        nonlocal handed_over
        records = list(records)
        if not first:
            first.append(Mark.now(database))
        await process_batch(records)
        handed_over += len(records)
        if handed_over >= n and not done:
            done.append(Mark.now(database))
            finished.set()

    # An instance attribute: the subscriber looks the method up on every batch. Nothing
    # polls while the consumer runs, so the bench adds no work to the measured process.
    runtime.consumer.process_batch = timed_batch

    def consumed() -> dict[str, float]:
        registry = runtime.metrics.registry
        return {
            outcome: registry.get_sample_value(
                "crm_events_consumed_total", {"topic": topic, "outcome": outcome}
            )
            or 0.0
            for outcome in ("applied", "duplicate", "parked", "dead_lettered")
        }

    before = COMMANDS.snapshot(database)
    t_start = time.perf_counter()
    async with app.router.lifespan_context(app):
        if profile is not None:
            profile.enable()
        try:
            await asyncio.wait_for(finished.wait(), timeout_for(n))
        except TimeoutError:
            raise TimeoutError(f"service: {consumed()} of {n} after {timeout_for(n)} s") from None
        finally:
            if profile is not None:
                profile.disable()
        after = COMMANDS.snapshot(database)
        outcomes = consumed()
    if outcomes["applied"] + outcomes["duplicate"] != n:
        raise RuntimeError(f"service: unexpected outcomes {outcomes}")
    return result(
        "service",
        run,
        n,
        t_start=t_start,
        first=first[0],
        done=done[0],
        commands=after - before,
        commits=KAFKA_COMMITS[group],
        stored=0,
        duplicates=int(outcomes["duplicate"]),
        extra={
            "outcomes": outcomes,
            "mongo_wait_ms_by_command": COMMANDS.wait_by_command(database),
        },
    )


def timeout_for(n: int) -> float:
    return max(60.0, n / 50)


# --- orchestration -------------------------------------------------------------------------------
async def bench(args: argparse.Namespace, kafka: str, mongo_uri: str) -> list[PathResult]:
    customers = customer_ids(args.customers)
    session = f"{datetime.now(UTC):%H%M%S}{uuid.uuid4().hex[:4]}"
    profiles = {p: cProfile.Profile() for p in ("raw", "service")} if args.profile else {}
    if profiles:
        log("--profile: cProfile slows both paths (~2x), the figures are for comparison only")
    results: list[PathResult] = []
    for run in range(args.runs):
        paths = ["raw", "service", *(["raw-batched"] if args.batched else [])]
        for path in paths if run % 2 == 0 else reversed(paths):
            database = f"bench_{session}_{run}_{path}"
            prefix = f"bench-{session}-{run}-{path}."
            topic = prefix + ContactLogged.topic()
            log(f"run {run + 1}/{args.runs} {path}: producing {args.events} events")
            values = contact_values(args.events, customers)
            await prepare(mongo_uri, kafka, database, topic, customers, values)
            log(f"run {run + 1}/{args.runs} {path}: consuming")
            load_before = os.getloadavg()[0]
            common = {
                "kafka": kafka,
                "mongo_uri": mongo_uri,
                "batch": args.batch_size,
                "database": database,
                "profile": profiles.get(path),
            }
            if path.startswith("raw"):
                batched = path == "raw-batched"
                res = await run_raw(run, args.events, topic=topic, batched=batched, **common)
            else:
                res = await run_service(run, args.events, prefix=prefix, **common)
            res.extra["loadavg_1m_before"] = load_before
            res.stored = await stored_and_drop(mongo_uri, database, keep=args.keep_data)
            if res.stored != args.events:
                raise RuntimeError(f"{path}: {res.stored} timeline entries, expected {args.events}")
            log(
                f"run {run + 1}/{args.runs} {path}: {res.events_per_s:.0f} events/s "
                f"({res.seconds:.2f} s), {res.mongo_round_trips_per_event:.3f} Mongo round "
                f"trips/event, {res.mongo_wait_ms_per_event:.3f} ms/event Mongo wait, "
                f"{res.client_cpu_ms_per_event:.3f} ms/event CPU (GC {res.gc_ms_per_event:.3f}), "
                f"{res.kafka_commits} commits"
            )
            results.append(res)
    for path, profile in profiles.items():
        target = f"{args.profile}-{path}.prof"
        profile.dump_stats(target)
        log(f"cProfile of the {path} path written to {target}")
    return results


METRICS = (
    "events_per_s",
    "events_per_s_with_startup",
    "mongo_round_trips_per_event",
    "handler_round_trips_per_event",
    "mongo_wait_ms_per_event",
    "client_cpu_ms_per_event",
    "gc_ms_per_event",
    "kafka_commits",
)


def summarise(results: list[PathResult]) -> dict[str, Any]:
    """Medians per path; the ratio is service/raw of the medians (and per run)."""
    paths = {
        path: {
            metric: float(statistics.median(getattr(r, metric) for r in results if r.path == path))
            for metric in METRICS
        }
        for path in dict.fromkeys(r.path for r in results)
    }
    rate = {r.path + str(r.run): r.events_per_s for r in results}
    runs = sorted({r.run for r in results})
    # Issue 7: the batched raw loop is the reference (2 round trips per poll).
    ref = "raw-batched" if "raw-batched" in paths else "raw"
    ratio = paths["service"]["events_per_s"] / paths[ref]["events_per_s"]
    return {
        "paths": paths,
        "ratio": round(ratio, 4),
        "ratio_per_run": [round(rate[f"service{i}"] / rate[f"{ref}{i}"], 4) for i in runs],
        "reference": ref,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio >= TARGET_RATIO,
    }


def machine() -> dict[str, Any]:
    try:
        usable: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count()
    return {
        "nproc": usable,
        "loadavg_at_start": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": {
            name: version(name) for name in ("aiokafka", "pymongo", "faststream", "pydantic")
        },
        "pymongo_c_extensions": pymongo.has_c(),
    }


ROWS = (
    ("events/s (first batch -> last stored)", "events_per_s", "{:.0f}"),
    ("events/s incl. consumer start-up", "events_per_s_with_startup", "{:.0f}"),
    ("Mongo round trips/event (all)", "mongo_round_trips_per_event", "{:.3f}"),
    ("Mongo round trips/event (handler writes)", "handler_round_trips_per_event", "{:.3f}"),
    ("ms/event waiting for Mongo", "mongo_wait_ms_per_event", "{:.3f}"),
    ("ms/event CPU of the consumer process", "client_cpu_ms_per_event", "{:.3f}"),
    ("Kafka offset commits", "kafka_commits", "{:.0f}"),
)


def print_table(report: dict[str, Any]) -> None:
    summary, facts, params = report["summary"], report["machine"], report["params"]
    paths = summary["paths"]
    verdict = "meets" if summary["target_met"] else "MISSES"
    footer = [
        f"service/{summary['reference']} = {summary['ratio']:.1%} "
        f"({verdict} the {TARGET_RATIO:.0%} target); "
        "per run " + ", ".join(f"{x:.1%}" for x in summary["ratio_per_run"]),
        f"medians of {params['runs']} alternating runs; {params['customers']} customers, "
        f"batch {params['batch_size']}, {params['partitions']} partitions",
        f"nproc {facts['nproc']}, Python {facts['python']}, load average at start "
        f"{facts['loadavg_at_start'][0]:.2f}",
        f"$ {report['command']}",
    ]
    title = f"contacts consumer: {params['events']} ContactLogged events per run"
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text
        print(title)
        print(f"{'':45}" + "".join(f"{p:>14}" for p in paths))
        for label, metric, fmt in ROWS:
            print(f"{label:45}" + "".join(f"{fmt.format(v[metric]):>14}" for v in paths.values()))
        print("\n".join(footer))
        return
    table = Table(title=title, caption="\n".join(footer))
    table.add_column("median")
    for path in paths:
        table.add_column(path, justify="right")
    for label, metric, fmt in ROWS:
        table.add_row(label, *(fmt.format(v[metric]) for v in paths.values()))
    Console(file=sys.stdout, width=110).print(table)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="events per path and run")
    parser.add_argument("--customers", type=int, default=100, help="customers the events hit")
    parser.add_argument(
        "--batch-size", type=int, default=500, help="max records per poll (both paths)"
    )
    parser.add_argument("--runs", type=int, default=3, help="alternating raw/service runs")
    parser.add_argument("--kafka", help="bootstrap servers (default: start a local stack)")
    parser.add_argument("--mongo", help="MongoDB URI (default: start a local stack)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--batched",
        action="store_true",
        help="also run a raw loop that stores each poll with 2 round trips (a reference for "
        "batch-aware handlers; not part of the ratio)",
    )
    parser.add_argument(
        "--keep-stack", action="store_true", help="leave a local stack it started running"
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="do not drop the benchmark databases"
    )
    parser.add_argument(
        "--profile",
        metavar="PREFIX",
        help="write cProfile stats of each path to PREFIX-raw.prof and PREFIX-service.prof",
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.customers < 1 or args.runs < 1 or args.batch_size < 1:
        parser.error("--events, --customers, --runs and --batch-size must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "uv run --frozen python " + shlex.join(sys.argv if argv is None else ["-", *argv])
    stack = None
    kafka, mongo_uri = args.kafka, args.mongo
    if not (kafka and mongo_uri):
        from crm_stack.stack import LocalStack

        stack = LocalStack(STATE_DIR, KAFKA_PORT, MONGO_PORT, venv_dir=MONGO_VENV, progress=log)
        if not any(c.up for c in stack.status()):
            stack.wipe()  # fresh stores: earlier runs do not slow this one
        endpoints = stack.up()
        ON_TANSU["value"] = stack.config.kafka_engine == "tansu"
        log(
            f"local stack ({stack.config.kafka_label}): started {endpoints.started or '-'}, "
            f"reused {endpoints.reused or '-'}"
        )
        kafka = kafka or endpoints.kafka_bootstrap
        mongo_uri = mongo_uri or endpoints.mongo_uri
    started_at = datetime.now(UTC)
    facts = machine()
    facts["kafka_broker"] = stack.config.kafka_label if stack is not None else f"given: {kafka}"
    if facts["loadavg_at_start"][0] > 0.5:
        log(
            f"load average is {facts['loadavg_at_start'][0]:.2f}: other processes compete for "
            "the CPUs (the figures will be noisier)"
        )
    try:
        # Service logs and library output go to stderr; stdout carries only the report.
        with contextlib.redirect_stdout(sys.stderr):
            results = asyncio.run(bench(args, kafka, mongo_uri))
    finally:
        if stack is not None and not args.keep_stack:
            if endpoints.started and not endpoints.reused:
                stack.down(wipe=True)
                log("local stack stopped")
            elif endpoints.started:
                log(f"left the local stack running (it was partly running): {STATE_DIR}")
    report = {
        "benchmark": "contacts_consumer",
        "date": started_at.isoformat(timespec="seconds"),
        "command": command,
        "params": {
            "events": args.events,
            "customers": args.customers,
            "batch_size": args.batch_size,
            "runs": args.runs,
            "partitions": PARTITIONS,
            "kafka": kafka,
            "mongo": mongo_uri,
            "local_stack": stack is not None,
            "profiled": bool(args.profile),
        },
        "machine": facts,
        "summary": summarise(results),
        "runs": [asdict(r) for r in results],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"contacts_consumer-{started_at:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    log(f"results written to {out.relative_to(REPO)}")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
