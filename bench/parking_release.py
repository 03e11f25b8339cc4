"""How fast are parked records released once their prerequisite arrives?

Finding 8 of issue 6: parked records were retried one by one on a timer (~45 records/s).
This script parks N records whose prerequisite is missing — purchases (loyalty) or
contacts (contacts) of customers not registered yet, published round robin as a bulk
import would — then publishes the customers' registrations and measures how fast the
service applies the parked records.

    uv run --frozen python bench/parking_release.py                        # loyalty, 10,000
    uv run --frozen python bench/parking_release.py --service contacts
    uv run --frozen python bench/parking_release.py --kafka H:P --mongo URI  # existing servers
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from crm_events import EventData
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.examples import load_golden
from crm_events.inbound import PurchaseRecorded
from crm_runtime.settings import ServiceSettings
from crm_runtime.topics import ensure_topics

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
STATE_DIR = REPO / ".stack" / "bench-parking"
ON_TANSU = {"value": False}
MONGO_VENV = REPO / ".stack" / "mongo-venv"
KAFKA_PORT, MONGO_PORT = 39193, 38218  # apart from the dev, test and contacts-bench stacks
PARTITIONS = 4


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Scenario:
    parked: type[EventData]  # what waits for the registration
    create_app: Callable[[Any], FastAPI]
    settings: type[ServiceSettings]

    def record(self, customer: str, n: int) -> bytes:
        golden = load_golden(self.parked)
        data = {**golden.data, "customer_id": customer}
        if self.parked is PurchaseRecorded:
            data.update(order_id=f"{customer}-{n}", amount_minor=10_000 + n * 100)
        else:
            data.update(summary=f"call {n}")
        update = {"id": f"{customer}-{n}", "subject": customer, "data": data}
        return golden.model_copy(update=update).to_bytes()


def scenario(service: str) -> Scenario:
    if service == "loyalty":
        from crm_loyalty.app import create_app as loyalty_app
        from crm_loyalty.settings import LoyaltySettings

        return Scenario(PurchaseRecorded, loyalty_app, LoyaltySettings)
    from crm_contacts.app import create_app as contacts_app
    from crm_contacts.settings import ContactsSettings

    return Scenario(ContactLogged, contacts_app, ContactsSettings)


def registration(customer: str) -> bytes:
    golden = load_golden(CustomerRegistered)
    data = {**golden.data, "customer_id": customer}
    update = {"id": f"reg-{customer}", "subject": customer, "data": data}
    return golden.model_copy(update=update).to_bytes()


async def produce(kafka: str, topic: str, items: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key.encode()) for key, value in items]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def wait_for(probe: Callable[[], float], target: float, timeout: float) -> float:
    """Poll an in-process counter (no I/O) until it reaches ``target``; the time it did."""
    deadline = time.perf_counter() + timeout
    while probe() < target:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{probe()} of {target} after {timeout} s")
        await asyncio.sleep(0.02)
    return time.perf_counter()


async def bench(args: argparse.Namespace, kafka: str, mongo_uri: str) -> dict[str, Any]:
    case = scenario(args.service)
    session = f"{datetime.now(UTC):%H%M%S}{uuid.uuid4().hex[:4]}"
    database, prefix = f"bench_park_{session}", f"bench-park-{session}."
    customers = [f"cus-{c:05d}" for c in range(args.customers)]
    per_customer = args.records // args.customers
    n = per_customer * args.customers
    settings = case.settings(
        kafka_bootstrap_servers=kafka,
        mongo_uri=mongo_uri,
        mongo_database=database,
        kafka_topic_prefix=prefix,
        # Tansu (no Java): short group joins and no idempotent producer; else Kafka's own.
        kafka_session_timeout_ms=3000 if ON_TANSU["value"] else 10_000,
        kafka_idempotent_producer=not ON_TANSU["value"],
        consumer_batch_size=args.batch_size,
        log_level="WARNING",
    )
    app = case.create_app(settings)
    runtime = app.state.runtime
    parked_topic, registered_topic = (
        prefix + case.parked.topic(),
        prefix + CustomerRegistered.topic(),
    )
    await ensure_topics(
        [parked_topic, registered_topic],
        partitions=PARTITIONS,
        replication_factor=1,
        client_kwargs={"bootstrap_servers": kafka},
    )

    def count(outcome: str) -> float:
        registry = runtime.metrics.registry
        return sum(
            registry.get_sample_value("crm_events_consumed_total", {"topic": t, "outcome": outcome})
            or 0.0
            for t in (parked_topic, registered_topic)
        )

    records = [(c, case.record(c, k)) for k in range(per_customer) for c in customers]
    async with app.router.lifespan_context(app):
        log(f"{args.service}: parking {n} records of {args.customers} customers")
        t0 = time.perf_counter()
        await produce(kafka, parked_topic, records)
        parked_at = await wait_for(lambda: count("parked"), n, timeout=max(120, n / 20))
        log(f"parked {n} in {parked_at - t0:.1f} s; publishing {args.customers} registrations")
        t1 = time.perf_counter()
        await produce(kafka, registered_topic, [(c, registration(c)) for c in customers])
        released_at = await wait_for(lambda: count("unparked_applied"), n, timeout=max(120, n / 20))
        left = await runtime.parking.collection.count_documents({})
        outcomes = {
            o: count(o)
            for o in (
                "applied",
                "parked",
                "unparked_applied",
                "dead_lettered",
                "unparked_dead_lettered",
            )
        }
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    try:
        await client.drop_database(database)
    finally:
        await client.close()
    if left or outcomes["dead_lettered"] or outcomes["unparked_dead_lettered"]:
        raise RuntimeError(f"unexpected end state: {left} still parked, outcomes {outcomes}")
    release_s = released_at - t1
    return {
        "service": args.service,
        "records": n,
        "customers": args.customers,
        "park_s": round(parked_at - t0, 2),
        "park_records_per_s": round(n / (parked_at - t0)),
        "release_s": round(release_s, 2),
        "release_records_per_s": round(n / release_s),
        "outcomes": outcomes,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=("loyalty", "contacts"), default="loyalty")
    parser.add_argument("--records", type=int, default=10_000, help="records to park")
    parser.add_argument("--customers", type=int, default=500, help="customers they belong to")
    parser.add_argument("--batch-size", type=int, default=500, help="consumer_batch_size")
    parser.add_argument("--kafka", help="bootstrap servers (default: start a local stack)")
    parser.add_argument("--mongo", help="MongoDB URI (default: start a local stack)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--keep-stack", action="store_true", help="leave the local stack running")
    args = parser.parse_args(argv)
    if min(args.records, args.customers, args.batch_size) < 1 or args.records < args.customers:
        parser.error("--records >= --customers >= 1 and --batch-size >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "uv run --frozen python " + shlex.join(sys.argv if argv is None else ["-", *argv])
    stack, endpoints = None, None
    kafka, mongo_uri = args.kafka, args.mongo
    if not (kafka and mongo_uri):
        from crm_stack.stack import LocalStack

        stack = LocalStack(STATE_DIR, KAFKA_PORT, MONGO_PORT, venv_dir=MONGO_VENV, progress=log)
        if not any(c.up for c in stack.status()):
            stack.wipe()
        endpoints = stack.up()
        ON_TANSU["value"] = stack.config.kafka_engine == "tansu"
        log(f"local stack: {stack.config.kafka_label}")
        kafka = kafka or endpoints.kafka_bootstrap
        mongo_uri = mongo_uri or endpoints.mongo_uri
    started_at = datetime.now(UTC)
    load = os.getloadavg()
    try:
        with contextlib.redirect_stdout(sys.stderr):
            summary = asyncio.run(bench(args, kafka, mongo_uri))
    finally:
        if (
            stack is not None
            and endpoints is not None
            and endpoints.started
            and not args.keep_stack
        ):
            stack.down(wipe=True)
            log("local stack stopped")
    report = {
        "benchmark": "parking_release",
        "date": started_at.isoformat(timespec="seconds"),
        "command": command,
        "machine": {"nproc": os.cpu_count(), "loadavg_at_start": load},
        **summary,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"parking_release-{started_at:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    log(f"results written to {out.relative_to(REPO)}")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{summary['service']}: released {summary['records']} parked records of "
            f"{summary['customers']} customers in {summary['release_s']} s = "
            f"{summary['release_records_per_s']} records/s "
            f"(parking them took {summary['park_s']} s = {summary['park_records_per_s']}/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
