"""Idempotent topic provisioning at start-up, with retention and durability from settings.

Brokers differ in what they do with unknown topics (Apache Kafka here refuses to
auto-create them, the Tansu stand-in auto-creates with 4 partitions): never rely on
either. Missing topics are created with the configured partitions, replication factor,
`min.insync.replicas` and retention (DLQs keep records longer: they wait for an
operator); existing topics are verified, and one with fewer partitions than configured
is reported — its key → partition mapping is the operator's to change, not ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from crm_runtime.logging import get_logger

TOPIC_ALREADY_EXISTS = 36
DLQ_SUFFIX = ".dlq"
log = get_logger(__name__)


def dlq_topic(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


@dataclass(frozen=True)
class TopicPolicy:
    """How the topics a service needs are created."""

    partitions: int
    replication_factor: int
    retention_ms: int | None = None
    dlq_retention_ms: int | None = None
    min_insync_replicas: int | None = None

    def configs(self, topic: str) -> dict[str, str]:
        retention = self.dlq_retention_ms if topic.endswith(DLQ_SUFFIX) else self.retention_ms
        found: dict[str, str] = {}
        if retention is not None:
            found["retention.ms"] = str(retention)
        if self.min_insync_replicas is not None:
            found["min.insync.replicas"] = str(self.min_insync_replicas)
        return found


@dataclass
class TopicReport:
    created: list[str] = field(default_factory=list)
    # topic → (partitions found, partitions configured)
    short: dict[str, tuple[int, int]] = field(default_factory=dict)


async def provision_topics(
    topics: Iterable[str], policy: TopicPolicy, *, client_kwargs: dict[str, Any]
) -> TopicReport:
    """Create the missing topics and verify the existing ones."""
    wanted = sorted(set(topics))
    report = TopicReport()
    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            report.created = await _create(admin, missing, policy)
            # Created here or by another service a moment ago: either way the broker's
            # metadata may not list it yet, and a consumer subscribing now would fail with
            # UnknownTopicOrPartition. Wait until every wanted topic is listed.
            await _listed(admin, wanted)
        present = [t for t in wanted if t not in report.created]
        if present:
            report.short = await _short_topics(admin, present, policy.partitions)
    finally:
        await admin.close()
    if report.created:
        log.info("topics_created", topics=report.created)
    for topic, (found, configured) in report.short.items():
        log.error("topic_has_fewer_partitions", topic=topic, found=found, configured=configured)
    return report


async def _create(admin: AIOKafkaAdminClient, missing: list[str], policy: TopicPolicy) -> list[str]:
    new = [
        NewTopic(t, policy.partitions, policy.replication_factor, topic_configs=policy.configs(t))
        for t in missing
    ]
    response = await admin.create_topics(new)
    failed = [
        (name, code, message)
        for name, code, message in response.topic_errors
        if code not in (0, TOPIC_ALREADY_EXISTS)
    ]
    if failed:
        raise RuntimeError(f"topic creation failed: {failed}")
    # A topic another instance created meanwhile (metadata not yet seen) is not ours.
    return sorted(name for name, code, _ in response.topic_errors if code == 0)


async def _listed(admin: AIOKafkaAdminClient, wanted: list[str], timeout_s: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not set(wanted) <= set(await admin.list_topics()):
        if loop.time() > deadline:
            raise TimeoutError("created topics are not listed by the broker yet")
        await asyncio.sleep(0.2)


async def _short_topics(
    admin: AIOKafkaAdminClient, topics: list[str], configured: int
) -> dict[str, tuple[int, int]]:
    short = {}
    for described in await admin.describe_topics(topics):
        count = len(described.get("partitions") or [])
        if described.get("error_code", 0) == 0 and 0 < count < configured:
            short[described["topic"]] = (count, configured)
    return short


async def ensure_topics(
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int,
    client_kwargs: dict[str, Any],
) -> list[str]:
    """Create the topics that are missing (broker-default configs); return those created."""
    policy = TopicPolicy(partitions=partitions, replication_factor=replication_factor)
    report = await provision_topics(topics, policy, client_kwargs=client_kwargs)
    return report.created
