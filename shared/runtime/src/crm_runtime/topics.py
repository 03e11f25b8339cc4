"""Idempotent topic provisioning at start-up (the stand-in broker auto-creates with 4
partitions, production brokers often refuse auto-creation: never rely on either)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from crm_runtime.logging import get_logger

TOPIC_ALREADY_EXISTS = 36
log = get_logger(__name__)


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


async def ensure_topics(
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int,
    client_kwargs: dict[str, Any],
) -> list[str]:
    """Create the topics that are missing; return the names created."""
    wanted = sorted(set(topics))
    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(t, partitions, replication_factor) for t in missing]
        )
        failed = [
            (name, code, message)
            for name, code, message in response.topic_errors
            if code not in (0, TOPIC_ALREADY_EXISTS)
        ]
        if failed:
            raise RuntimeError(f"topic creation failed: {failed}")
        log.info("topics_created", topics=missing)
        return missing
    finally:
        await admin.close()
