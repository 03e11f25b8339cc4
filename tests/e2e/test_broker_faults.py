"""Broker and instance faults on Apache Kafka itself, with the services as OS processes.

A dedicated local stack (its own Apache Kafka and MongoDB-protocol server on free ports)
is killed and restarted here, so the session's stack is never disturbed. Loyalty is the
service under test because its effects are not idempotent by nature: a purchase applied
twice would show in a balance. Every fault run is compared with an uninterrupted
reference run — a fresh instance with its own consumer group and database reading the
same topics from the earliest offset — so "nothing lost, nothing applied twice" is
checked against what the service computes when nothing goes wrong.

These need a broker that keeps its data across a restart: Apache Kafka (a JVM). Where no
Java exists the stack falls back to Tansu (memory only) and they cannot run.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from crm_events import decode
from crm_events.contacts import CustomerRegistered
from crm_events.inbound import PurchaseRecorded
from crm_events.loyalty import PointsAwarded
from crm_stack import LocalStack
from tests.integration.loyalty_fixtures import golden_bytes
from tests.processes import ServiceProcess
from tests.stack_fixture import dedicated_stack
from tests.support import API_KEYS, SYSTEM, Kafka, eventually, namespace

pytestmark = pytest.mark.e2e
CUSTOMERS = [f"cus-f{n:02d}" for n in range(12)]
PURCHASES_EACH = 40
LEDGER_TOTAL = len(CUSTOMERS) * PURCHASES_EACH
SLOW = 90.0  # generous: the group may wait out a dead member's session timeout


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with dedicated_stack("test-faults") as local:
        yield local


@dataclass
class Run:
    """One namespace of topics on the dedicated stack, and the loyalty instances on it."""

    stack: LocalStack
    ns: str
    kafka: Kafka
    mongo: AsyncMongoClient[dict[str, Any]]

    def loyalty(self, db: str, group: str) -> ServiceProcess:
        endpoints = self.stack.endpoints
        settings = {
            "kafka_bootstrap_servers": endpoints.kafka_bootstrap,
            "mongo_uri": endpoints.mongo_uri,
            "mongo_database": f"{db}_{self.ns.strip('.')}",
            "kafka_topic_prefix": self.ns,
            "kafka_group_id": f"{group}-{self.ns.strip('.')}",
            "kafka_session_timeout_ms": 10_000,
            "api_keys": json.dumps(API_KEYS),
            # Small polls: the kill must land mid-stream, and a batched poll is fast.
            "consumer_batch_size": 5,
            "outbox_poll_interval_s": 0.2,
            "retry_max_backoff_s": 1.0,
        }
        return ServiceProcess("loyalty", "crm_loyalty", settings)

    def ledger_count(self, service: ServiceProcess) -> Any:
        db = service.env["CRM_LOYALTY_MONGO_DATABASE"]
        return self.mongo[db]["ledger"].count_documents({"_id": {"$regex": "^earn:"}})

    async def publish_story(self) -> None:
        """Every customer registers, then buys PURCHASES_EACH times (one key per customer)."""
        await self.kafka.send_many(
            self.ns + CustomerRegistered.topic(),
            [(c.encode(), golden_bytes(CustomerRegistered, f"reg-{c}", c)) for c in CUSTOMERS],
        )
        purchases = [
            (c.encode(), golden_bytes(PurchaseRecorded, f"buy-{c}-{n}", c, **_order(c, n)))
            for n in range(PURCHASES_EACH)
            for c in CUSTOMERS
        ]
        await self.kafka.send_many(self.ns + PurchaseRecorded.topic(), purchases)


def _order(customer: str, n: int) -> dict[str, Any]:
    return {"order_id": f"ord-{customer}-{n}", "amount_minor": 1_000 + 137 * n}


@pytest.fixture
async def run(stack: LocalStack) -> AsyncIterator[Run]:
    endpoints = stack.endpoints
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(endpoints.mongo_uri)
    async with Kafka(endpoints.kafka_bootstrap) as kafka:
        yield Run(stack, namespace(), kafka, mongo)
    await mongo.close()


async def accounts(service: ServiceProcess) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=service.url, headers=SYSTEM, timeout=30) as http:
        views = {}
        for customer in CUSTOMERS:
            response = await http.get(f"/accounts/{customer}")
            assert response.status_code == 200, response.text
            ledger = await http.get(f"/accounts/{customer}/ledger", params={"limit": 200})
            assert ledger.status_code == 200, ledger.text
            views[customer] = {"account": response.json(), "ledger": ledger.json()}
        return views


def assert_same_state(expected: dict[str, Any], found: dict[str, Any]) -> None:
    """Same accounts and ledgers; only `recorded_at` (when it was applied) and the account's
    `version` (how many writes stored it: one per poll, so it follows how the records were
    batched) may differ."""

    def account(views: dict[str, Any], customer: str) -> dict[str, Any]:
        return {k: v for k, v in views[customer]["account"].items() if k != "version"}

    def entries(views: dict[str, Any], customer: str) -> list[dict[str, Any]]:
        items = views[customer]["ledger"]["items"]
        return sorted(
            ({k: v for k, v in item.items() if k != "recorded_at"} for item in items),
            key=lambda item: str(item["entry_id"]),
        )

    for customer in CUSTOMERS:
        assert account(found, customer) == account(expected, customer), customer
        assert entries(found, customer) == entries(expected, customer), customer


async def readiness(service: ServiceProcess) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(service.url + "/readyz")
        return response.status_code, response.json()


async def metric_lines(service: ServiceProcess, name: str) -> list[str]:
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(service.url + "/metrics")).text
    return [line for line in text.splitlines() if line.startswith(name + "{")]


async def reference(run: Run) -> dict[str, Any]:
    """What an uninterrupted instance (own group, own database) makes of the same topics."""
    clean = run.loyalty("loyalty_ref", "crm-loyalty-ref")
    await clean.start()
    try:
        await eventually(lambda: run.ledger_count(clean), lambda n: n == LEDGER_TOTAL, timeout=SLOW)
        await eventually(lambda: outbox_pending(run, clean), lambda n: n == 0)
        return await accounts(clean)
    finally:
        clean.stop()


def outbox_pending(run: Run, service: ServiceProcess) -> Any:
    db = service.env["CRM_LOYALTY_MONGO_DATABASE"]
    return run.mongo[db]["accounts"].count_documents({"outbox_pending": {"$exists": True}})


async def awarded_event_ids(run: Run) -> set[str]:
    records = (await run.kafka.read_all([run.ns + PointsAwarded.topic()]))[
        run.ns + PointsAwarded.topic()
    ]
    return {decode(r.value).id for r in records if r.value}


async def earned_entry_count(run: Run, service: ServiceProcess) -> int:
    db = service.env["CRM_LOYALTY_MONGO_DATABASE"]
    return int(
        await run.mongo[db]["ledger"].count_documents(
            {"_id": {"$regex": "^earn:"}, "points": {"$gt": 0}}
        )
    )


async def test_broker_sigkill_mid_stream_loses_nothing_and_applies_nothing_twice(
    run: Run,
) -> None:
    service = run.loyalty("loyalty", "crm-loyalty")
    await service.start()
    try:
        await run.publish_story()
        partial = await eventually(lambda: run.ledger_count(service), lambda n: n >= 40)
        run.stack.kill_kafka()
        _status, body = await eventually(
            lambda: readiness(service), lambda r: r[0] == 503, timeout=SLOW
        )
        assert "kafka" in body["problems"], body
        await asyncio.sleep(3)  # the broker stays down a while, as in a real outage
        run.stack.up()
        await eventually(
            lambda: run.ledger_count(service), lambda n: n == LEDGER_TOTAL, timeout=SLOW
        )
        assert partial < LEDGER_TOTAL, "the kill must land mid-stream"
        await eventually(lambda: readiness(service), lambda r: r[0] == 200, timeout=SLOW)
        await eventually(lambda: outbox_pending(run, service), lambda n: n == 0, timeout=SLOW)
        after_fault = await accounts(service)
        # Every outbox entry the relay cleared is on the topic (at least once, deduped by id).
        awarded = await awarded_event_ids(run)
        assert len(awarded) == await earned_entry_count(run, service)
    finally:
        service.stop()
    assert_same_state(await reference(run), after_fault)


async def test_two_instances_share_the_group_and_the_survivor_takes_over(run: Run) -> None:
    first, second = run.loyalty("loyalty", "crm-loyalty"), run.loyalty("loyalty", "crm-loyalty")
    await first.start()
    await second.start()
    try:
        await run.publish_story()
        await eventually(lambda: run.ledger_count(first), lambda n: n >= 40)
        first.kill()
        await eventually(
            lambda: run.ledger_count(second), lambda n: n == LEDGER_TOTAL, timeout=SLOW
        )
        await eventually(lambda: outbox_pending(run, second), lambda n: n == 0, timeout=SLOW)
        # The survivor holds every partition of the topics it consumes.
        lag = await eventually(
            lambda: metric_lines(second, "crm_consumer_lag"),
            lambda lines: len({_partition(line) for line in lines}) >= 2 * 4,
        )
        assert all(line.rstrip().endswith(" 0.0") for line in lag if "purchase" in line)
        after_fault = await accounts(second)
        # Whatever either instance's relay cleared from the outbox is on the topic.
        assert len(await awarded_event_ids(run)) == await earned_entry_count(run, second)
    finally:
        second.stop()
    assert_same_state(await reference(run), after_fault)


def _partition(line: str) -> tuple[str, str]:
    found = re.search(r'topic="([^"]+)",?.*partition="(\d+)"', line) or re.search(
        r'partition="(\d+)".*topic="([^"]+)"', line
    )
    assert found is not None, line
    return found.group(1), found.group(2)


async def test_full_replay_with_a_new_group_after_a_broker_restart_changes_nothing(
    run: Run,
) -> None:
    service = run.loyalty("loyalty", "crm-loyalty")
    await service.start()
    try:
        await run.publish_story()
        await eventually(
            lambda: run.ledger_count(service), lambda n: n == LEDGER_TOTAL, timeout=SLOW
        )
        await eventually(lambda: outbox_pending(run, service), lambda n: n == 0)
        before = await accounts(service)
    finally:
        service.stop()
    run.stack.restart_kafka()
    replay = run.loyalty("loyalty", "crm-loyalty-replay")
    await replay.start()
    try:
        consumed_records = len(CUSTOMERS) * (1 + PURCHASES_EACH)
        duplicates = await eventually(
            lambda: _duplicates(replay),
            lambda n: n >= consumed_records,
            timeout=SLOW,
        )
        assert duplicates >= consumed_records
        assert await accounts(replay) == before
        assert await run.ledger_count(replay) == LEDGER_TOTAL
    finally:
        replay.stop()


async def _duplicates(service: ServiceProcess) -> float:
    lines = await metric_lines(service, "crm_events_consumed_total")
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if 'outcome="duplicate"' in line)
