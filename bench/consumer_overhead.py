"""CPU per ContactLogged event spent in the runtime's consumer path, with no I/O at all.

Companion of ``contacts_consumer.py``: that one measures the end-to-end rate against a
raw loop; this one isolates the CPU the service adds per event, by replacing the MongoDB
collections with stubs that answer at once, and splits it into its parts.

    uv run --frozen python bench/consumer_overhead.py [--events 20000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from crm_contacts import codec, translate
from crm_contacts.departures import Departures
from crm_contacts.rules import Rules
from crm_contacts.service import ContactsService
from crm_events import REGISTRY, CloudEvent, decode
from crm_events.contacts import ContactLogged
from crm_events.examples import load_golden
from crm_runtime import consumer as consumer_module
from crm_runtime.clock import SystemClock
from crm_runtime.consumer import EventConsumer
from crm_runtime.health import Health
from crm_runtime.logging import configure_logging, get_logger
from crm_runtime.metrics import Metrics
from crm_runtime.store import AggregateStore

TOPIC = ContactLogged.topic()


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()  # structured mode: no ce_* headers
    timestamp: int = 0


class StubCollection:
    """Answers like a collection holding every customer, without any I/O."""

    async def find_one(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"_id": "found"}

    async def insert_one(self, doc: dict[str, Any]) -> None:
        return None


class StubDatabase:
    def __getitem__(self, name: str) -> StubCollection:
        return StubCollection()


class StubBackend:
    """Every customer exists; every write succeeds at once (the store's I/O stubbed out)."""

    async def load(self, collection: str, ids: Any) -> dict[str, dict[str, Any]]:
        doc = {"registered_at": "2026-01-01T00:00:00.000000Z", "kind": "person"}
        return {i: {**doc, "_id": i, "display_name": "x", "owner_id": "emp-1"} for i in ids}

    async def write(self, collection: str, writes: Any) -> set[str]:
        return set()

    async def insert(self, collection: str, docs: Any) -> set[str]:
        return set()


class NothingParked:
    """A parking lot without parked records: one query per batch, answered at once."""

    async def blocked(self, sequences: Any) -> set[str]:
        return set()


def records(n: int) -> list[Record]:
    golden = load_golden(ContactLogged)
    return [
        Record(TOPIC, 0, i, b"cus", golden.model_copy(update={"id": str(uuid.uuid4())}).to_bytes())
        for i in range(n)
    ]


def make_consumer() -> EventConsumer:
    customers = AggregateStore(
        StubBackend(), codec.CustomerCodec(), clock=SystemClock(), marker_lifetime=None
    )
    departures = Departures(
        AggregateStore(
            StubBackend(), codec.DepartureCodec(), clock=SystemClock(), marker_lifetime=None
        ),
        customers,
        SystemClock(),
        source="/crm/contacts",
        rules=Rules(),
        recheck=timedelta(hours=1),
    )
    service = ContactsService(
        customers, departures, SystemClock(), source="/crm/contacts", rules=Rules()
    )
    consumer = EventConsumer(
        dead_letters=None,  # type: ignore[arg-type]  # never reached: every record is valid
        parking=NothingParked(),  # type: ignore[arg-type]  # nothing is ever parked here
        clock=SystemClock(),
        health=Health(),
        metrics=Metrics("bench"),
        max_event_bytes=1_000_000,
        max_attempts_unexpected=5,
        backoff=(0.1, 1.0),
    )

    async def contact_logged(data: ContactLogged, event: Any) -> bool:
        return await service.contact_logged(translate.touchpoint(data, event))

    consumer.on(ContactLogged, contact_logged)
    return consumer


async def raw_body(batch: list[Record]) -> None:
    """What the raw loop of contacts_consumer.py does per event, minus the drivers."""
    customers = timeline = StubCollection()
    for record in batch:
        body = json.loads(record.value)
        data = body["data"]
        if await customers.find_one({"_id": data["customer_id"]}, {"_id": 1}) is None:
            continue
        await timeline.insert_one(
            {
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
        )


def each(items: list[Any], fn: Callable[[Any], Any]) -> Callable[[], None]:
    """Apply ``fn`` to every item, keeping no result alive (no extra GC pressure)."""

    def run() -> None:
        for item in items:
            fn(item)

    return run


def cpu_us(n: int, repeat: int, run: Callable[[], Any]) -> float:
    """Best of ``repeat``: CPU microseconds per event."""
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best / n * 1e6


async def cpu_us_async(n: int, repeat: int, run: Callable[[], Awaitable[Any]]) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        await run()
        best = min(best, time.process_time() - started)
    return best / n * 1e6


async def measure(n: int, repeat: int) -> dict[str, float]:
    # The service's own logging set-up (level INFO: debug records are dropped).
    configure_logging(level="INFO", json=True, service="contacts")
    batch = records(n)
    envelopes = [decode(r.value) for r in batch]
    consumer = make_consumer()
    log = get_logger("bench.overhead")
    metrics = Metrics("bench-metrics")
    out: dict[str, float] = {}
    out["raw loop body (json.loads + same document)"] = await cpu_us_async(
        n, repeat, lambda: raw_body(batch)
    )
    out["service: EventConsumer.process -> handler -> repository"] = await cpu_us_async(
        n, repeat, lambda: consumer.process_batch(batch)
    )
    values = [r.value for r in batch]
    out["  envelope: json.loads"] = cpu_us(n, repeat, each(values, json.loads))
    out["  envelope: crm_events.decode (json.loads + validate)"] = cpu_us(
        n, repeat, each(values, decode)
    )
    out["  envelope: CloudEvent.model_validate_json (alternative)"] = cpu_us(
        n, repeat, each(values, CloudEvent.model_validate_json)
    )
    out["  data: REGISTRY.parse"] = cpu_us(
        n, repeat, each(envelopes, lambda e: REGISTRY.parse(e, topic=TOPIC))
    )
    structlog.contextvars.bind_contextvars(topic=TOPIC, partition=0, offset=1, event_id="e")

    def dropped_debug() -> None:
        for _ in range(n):
            log.debug("event_consumed", outcome="applied")

    out["  log.debug('event_consumed') dropped at INFO"] = cpu_us(n, repeat, dropped_debug)

    def count() -> None:
        for _ in range(n):
            metrics.consumed(topic=TOPIC, outcome="applied").inc()
            metrics.handle_seconds(topic=TOPIC).observe(0.001)

    out["  metrics: labels().inc() + labels().observe()"] = cpu_us(n, repeat, count)

    def bind() -> None:
        for _ in range(n):
            structlog.contextvars.bind_contextvars(topic=TOPIC, partition=0, offset=1)
            structlog.contextvars.bind_contextvars(event_id="e", event_type="t", correlation_id="c")
            structlog.contextvars.unbind_contextvars(
                "topic", "partition", "offset", "event_id", "event_type", "correlation_id"
            )

    out["  structlog bind/unbind contextvars"] = cpu_us(n, repeat, bind)

    # Proposed fix: drop below-level records before the processor chain runs.
    processors = structlog.get_config()["processors"]
    structlog.configure(processors=[structlog.stdlib.filter_by_level, *processors])
    log_filtered = get_logger("bench.overhead.filtered")
    consumer_module.log = get_logger("crm_runtime.consumer")

    def dropped_debug_filtered() -> None:
        for _ in range(n):
            log_filtered.debug("event_consumed", outcome="applied")

    out["  log.debug dropped, with filter_by_level first (proposed)"] = cpu_us(
        n, repeat, dropped_debug_filtered
    )
    out["service path with filter_by_level first (proposed)"] = await cpu_us_async(
        n, repeat, lambda: consumer.process_batch(batch)
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(measure(args.events, args.repeat))
    if args.json:
        print(json.dumps({"cpu_us_per_event": results, "python": platform.python_version()}))
        return 0
    raw = results["raw loop body (json.loads + same document)"]
    service = results["service: EventConsumer.process -> handler -> repository"]
    print(f"CPU µs per event, best of {args.repeat} x {args.events} events, no I/O")
    for label, value in results.items():
        print(f"{label:60} {value:8.1f}")
    print(f"{'service minus raw (CPU the runtime adds per event)':60} {service - raw:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
