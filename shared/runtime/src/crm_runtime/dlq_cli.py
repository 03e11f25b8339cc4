"""`crm-dlq`: inspect a dead-letter topic and replay its records to their original topic.

Typical use: events parked for an unknown customer were dead-lettered after the grace
period; the customer has been registered since; `crm-dlq replay` sends them through the
normal consumer again (duplicates are harmless: every handler dedupes by event id).
Progress is kept in a consumer group per DLQ topic, so a record is replayed once.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic_settings import SettingsConfigDict
from rich.console import Console
from rich.table import Table

from crm_runtime.settings import ServiceSettings
from crm_runtime.topics import dlq_topic

app = typer.Typer(
    name="crm-dlq",
    help="Inspect a dead-letter topic and replay its records to their original topic. "
    "Kafka connection from CRM_DLQ_* variables (as for a service).",
    no_args_is_help=True,
    add_completion=False,
)
out = Console(highlight=False)
Topic = Annotated[str, typer.Argument(help="The original topic, e.g. crm.contacts.contact-logged")]
IDLE_MS = 1500


class DlqSettings(ServiceSettings):
    """Kafka connection from CRM_DLQ_* variables (same names as a service's settings)."""

    model_config = SettingsConfigDict(env_prefix="CRM_DLQ_", extra="ignore")


def _headers(record: Any) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}


async def _read(consumer: AIOKafkaConsumer, limit: int) -> list[Any]:
    """Records until ``limit`` or until the topic has been quiet for a moment."""
    records: list[Any] = []
    while len(records) < limit:
        batch = await consumer.getmany(timeout_ms=IDLE_MS, max_records=limit - len(records))
        if not batch:
            break
        for messages in batch.values():
            records.extend(messages)
    return records


def _consumer(settings: DlqSettings, topic: str, group: str | None) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        dlq_topic(settings.kafka_topic_prefix + topic),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        **settings.aiokafka_kwargs(),
    )


async def list_records(settings: DlqSettings, topic: str, limit: int) -> list[Any]:
    consumer = _consumer(settings, topic, group=f"crm-dlq-peek-{uuid.uuid4().hex[:8]}")
    await consumer.start()
    try:
        return await _read(consumer, limit)
    finally:
        await consumer.stop()


async def replay_records(settings: DlqSettings, topic: str, limit: int, *, dry_run: bool) -> int:
    """Publish each dead-lettered value to its original topic, then commit the DLQ offset."""
    physical = settings.kafka_topic_prefix + topic
    consumer = _consumer(settings, topic, group=f"crm-dlq-replay.{dlq_topic(physical)}")
    producer = AIOKafkaProducer(acks="all", **settings.aiokafka_kwargs())
    await consumer.start()
    await producer.start()
    try:
        records = await _read(consumer, limit)
        if dry_run:
            return len(records)
        for record in records:
            original = {k: v for k, v in _headers(record).items() if not k.startswith("dlq-")}
            original["dlq-replayed-from"] = f"{record.topic}:{record.partition}:{record.offset}"
            await producer.send_and_wait(
                _headers(record).get("dlq-original-topic", physical),
                record.value,
                key=record.key,
                headers=[(k, v.encode()) for k, v in original.items()],
            )
        if records:
            await consumer.commit()
        return len(records)
    finally:
        await producer.stop()
        await consumer.stop()


@app.command("list")
def list_command(topic: Topic, limit: int = 50) -> None:
    """Show dead-lettered records of TOPIC with their reasons (nothing is consumed)."""
    records = asyncio.run(list_records(DlqSettings(), topic, limit))
    table = Table(title=f"{dlq_topic(topic)}: {len(records)} record(s)", title_justify="left")
    for column in ("partition:offset", "key", "kind", "failed at", "reason"):
        table.add_column(column)
    for record in records:
        headers = _headers(record)
        table.add_row(
            f"{record.partition}:{record.offset}",
            (record.key or b"").decode("utf-8", "replace"),
            headers.get("dlq-kind", "?"),
            headers.get("dlq-failed-at", "?"),
            headers.get("dlq-reason", "?"),
        )
    out.print(table)


@app.command("replay")
def replay_command(
    topic: Topic,
    limit: int = 1000,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count, publish nothing.")] = False,
) -> None:
    """Send dead-lettered records of TOPIC back to TOPIC (each record once)."""
    count = asyncio.run(replay_records(DlqSettings(), topic, limit, dry_run=dry_run))
    verb = "would replay" if dry_run else "replayed"
    out.print(f"{verb} {count} record(s) from {dlq_topic(topic)} to {topic}")
