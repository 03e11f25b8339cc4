"""Test helpers that speak the wire protocols directly (plain aiokafka / pymongo)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.stack_fixture import consumer_timeouts

T = TypeVar("T")

API_KEYS = {"agent-key": "agent", "manager-key": "manager", "system-key": "system"}
AGENT = {"Authorization": "Bearer agent-key"}
MANAGER = {"Authorization": "Bearer manager-key"}
SYSTEM = {"Authorization": "Bearer system-key"}


def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
) -> T:
    """Poll until ``accept(probe())`` and return that value; fail the test with the last
    value seen if it never comes (so a bare ``await eventually(...)`` is an assertion too)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if accept(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not met within {timeout} s; last value: {value!r:.2000}")
        await asyncio.sleep(interval)


async def metric_total(client: Any, name: str, *labels: str) -> float:
    """Sum of a Prometheus counter's samples whose labels contain every given fragment."""
    text = (await client.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and all(label in line for label in labels)
    )


async def consumed(client: Any, outcome: str, topic: str = "") -> float:
    """Consumer metric: records with ``outcome`` (on topics ending in ``topic``)."""
    return await metric_total(
        client, "crm_events_consumed_total", f'outcome="{outcome}"', f'{topic}"'
    )


@dataclass
class Record:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]


class Kafka:
    """An external system's view of the broker: produce raw bytes, read whole topics."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> Kafka:
        self._producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._producer is not None
        await self._producer.stop()

    async def create(self, *topics: str, partitions: int = 4) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            new = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
            if new:
                await admin.create_topics(new)
        finally:
            await admin.close()

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> None:
        assert self._producer is not None
        await self._producer.send_and_wait(topic, value, key=key)

    async def send_with_headers(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None,
        headers: list[tuple[str, bytes]],
    ) -> None:
        """One record with Kafka headers, e.g. a CloudEvent in binary content mode."""
        assert self._producer is not None
        await self._producer.send_and_wait(topic, value, key=key, headers=headers)

    async def send_many(self, topic: str, items: list[tuple[bytes | None, bytes]]) -> None:
        assert self._producer is not None
        futures = [await self._producer.send(topic, value, key=key) for key, value in items]
        await asyncio.gather(*futures)

    async def read_all(self, topics: list[str], *, idle: float = 2.0) -> dict[str, list[Record]]:
        """Every record of several topics (one consumer), once none arrived for ``idle`` s.
        Topics that do not exist (nobody provisioned them: brokers that refuse to
        auto-create topics, as Apache Kafka here) count as empty."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=f"probe-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **consumer_timeouts(),
        )
        await consumer.start()
        found: dict[str, list[Record]] = {topic: [] for topic in topics}
        try:
            existing = await consumer.topics()
            present = [t for t in topics if t in existing]
            if not present:
                return found
            consumer.subscribe(present)
            loop = asyncio.get_running_loop()
            quiet_since = None
            # The poll that completes the group join may already carry records (the real
            # broker answers that fast): every poll's records count, the idle clock only
            # starts once partitions are assigned.
            while quiet_since is None or loop.time() - quiet_since < idle:
                batch = await consumer.getmany(timeout_ms=200)
                if consumer.assignment() and quiet_since is None:
                    quiet_since = loop.time()
                for messages in batch.values():
                    quiet_since = loop.time()
                    for m in messages:
                        headers = {k: v.decode() for k, v in m.headers}
                        found[m.topic].append(Record(m.topic, m.key, m.value, headers))
        finally:
            await consumer.stop()
        return found

    async def read(self, topic: str, expected: int, *, timeout: float = 30.0) -> list[Record]:
        """Read the topic from the start until ``expected`` records (or the timeout).

        No consumer group: the probe is assigned every partition statically (a group join
        per read cost up to a second on the real broker, for nothing a probe needs). A
        topic its service has not provisioned yet is picked up by a metadata refresh."""
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self.bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        records: list[Record] = []
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while len(records) < expected and asyncio.get_running_loop().time() < deadline:
                batch = await consumer.getmany(timeout_ms=200)
                for messages in batch.values():
                    records.extend(
                        Record(
                            topic=m.topic,
                            key=m.key,
                            value=m.value,
                            headers={k: v.decode() for k, v in m.headers},
                        )
                        for m in messages
                    )
        finally:
            await consumer.stop()
        return records


@contextlib.asynccontextmanager
async def serving(app: Any) -> AsyncIterator[Any]:
    """Run an app's lifespan (broker, relay, consumers) and give an HTTP client to it."""
    import httpx

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://contacts") as client:
            yield client


def json_refs(node: Any) -> Iterator[str]:
    """Every `$ref` in a JSON document (schemas, AsyncAPI), depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from json_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from json_refs(item)
