"""What the ``crm`` commands do, apart from printing: contracts, Kafka, HTTP, replays."""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError
from rich.progress import Progress

from crm_cli.settings import CliSettings
from crm_events import REGISTRY, CloudEvent, EventData
from crm_events.envelope import summarise_validation_error
from crm_runtime.dlq_cli import DlqSettings
from crm_runtime.settings import ServiceSettings

LAG_METRIC = "crm_consumer_lag"


def model_for(name: str) -> type[EventData]:
    """The contract named by its class name, its wire type or its topic."""
    for model in REGISTRY.models:
        if name in (model.event_name(), model.event_type(), model.topic()):
            return model
    raise ValueError(f"unknown event type {name!r}; e.g. {REGISTRY.models[0].event_name()}")


def build_event(
    model: type[EventData], payload: Any, *, source: str, event_id: str | None
) -> CloudEvent:
    if not isinstance(payload, dict):
        raise ValueError("the payload must be a JSON object")
    try:
        data = model.model_validate(payload)
    except ValidationError as exc:
        raise ValueError(
            f"invalid {model.event_name()}: {summarise_validation_error(exc)}"
        ) from None
    return data.to_event(source=source, event_id=event_id)


async def publish(settings: CliSettings, model: type[EventData], event: CloudEvent) -> str:
    topic = settings.kafka_topic_prefix + model.topic()
    producer = AIOKafkaProducer(acks="all", **settings.aiokafka_kwargs())
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            event.to_bytes(),
            key=event.subject.encode(),
            headers=[("content-type", b"application/cloudevents+json; charset=utf-8")],
        )
    finally:
        await producer.stop()
    return topic


def shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "—"
    return str(value)


def dlq_settings() -> DlqSettings:
    """``crm dlq`` reads CRM_CLI_* like every command (CRM_DLQ_* still works for crm-dlq)."""
    return DlqSettings(**CliSettings().model_dump(exclude={"service_urls", "api_key"}))


def dead_letter(record: Any) -> dict[str, Any]:
    headers = {k: v.decode("utf-8", "replace") for k, v in record.headers or ()}
    return {
        "position": f"{record.partition}:{record.offset}",
        "key": (record.key or b"").decode("utf-8", "replace"),
        "kind": headers.get("dlq-kind", "?"),
        "failed_at": headers.get("dlq-failed-at", "?"),
        "reason": headers.get("dlq-reason", "?"),
        "headers": headers,
    }


# --- status ---------------------------------------------------------------------------------
async def status(settings: CliSettings) -> list[dict[str, Any]]:
    headers = settings.bearer()  # /metrics may be private (METRICS_PUBLIC=false)
    async with httpx.AsyncClient(timeout=settings.http_timeout_s, headers=headers) as client:
        return list(
            await asyncio.gather(
                *(_one_status(client, name, url) for name, url in settings.service_urls.items())
            )
        )


async def _one_status(client: httpx.AsyncClient, name: str, url: str) -> dict[str, Any]:
    row: dict[str, Any] = {"service": name, "url": url, "ready": False, "unreachable": False,
                           "problems": {}, "lag": 0, "partitions": []}  # fmt: skip
    try:
        ready = await client.get(url.rstrip("/") + "/readyz")
        metrics = await client.get(url.rstrip("/") + "/metrics")
    except httpx.HTTPError as exc:
        return {**row, "unreachable": True, "problems": {"http": type(exc).__name__}}
    body = (
        ready.json() if ready.headers.get("content-type", "").startswith("application/json") else {}
    )
    problems = body.get("problems", {}) if isinstance(body, dict) else {}
    partitions = lag_samples(metrics.text) if metrics.status_code == 200 else []
    return {
        **row,
        "ready": ready.status_code == 200,
        "problems": problems if ready.status_code != 200 else {},
        "lag": sum(p["lag"] for p in partitions),
        "partitions": partitions,
    }


def lag_samples(text: str) -> list[dict[str, Any]]:
    """``crm_consumer_lag{group,topic,partition}`` samples of a Prometheus text page."""
    found = []
    for line in text.splitlines():
        if not line.startswith(LAG_METRIC + "{"):
            continue
        labels_text, _, value = line[len(LAG_METRIC) + 1 :].rpartition("} ")
        labels = dict(part.split("=", 1) for part in labels_text.split(",") if "=" in part)
        found.append(
            {
                "group": labels.get("group", "").strip('"'),
                "topic": labels.get("topic", "").strip('"'),
                "partition": int(labels.get("partition", "0").strip('"')),
                "lag": int(float(value)),
            }
        )
    return found


# --- replay ---------------------------------------------------------------------------------
def service_settings(service: str, **overrides: Any) -> tuple[Any, ServiceSettings]:
    """The service's ``create_app`` and its settings from its own environment variables."""
    try:
        module = importlib.import_module(f"crm_{service}.settings")
        create_app = importlib.import_module(f"crm_{service}.app").create_app
    except ImportError:
        raise ValueError(f"unknown service {service!r}") from None
    classes = [
        v for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, ServiceSettings) and v is not ServiceSettings
    ]  # fmt: skip
    return create_app, classes[0](**overrides)


async def records_to_read(settings: ServiceSettings, topics: list[str]) -> int:
    """How many records the topics hold now (end minus beginning offsets): the progress
    bar's total. (Tansu reports end offsets short: there the bar ends early.)"""
    consumer = AIOKafkaConsumer(**settings.aiokafka_kwargs())
    await consumer.start()
    try:
        await consumer.topics()  # load the metadata of every topic
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return 0
        first = await consumer.beginning_offsets(partitions)
        last = await consumer.end_offsets(partitions)
        return sum(last[tp] - first[tp] for tp in partitions)
    finally:
        await _stop(consumer)


async def _stop(consumer: AIOKafkaConsumer) -> None:
    """aiokafka 0.14 re-raises the cancellation of its own internal commit-reset task when
    a group-less consumer stops soon after starting; only a real cancellation propagates."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise


def outcomes(runtime: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for metric in runtime.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name == "crm_events_consumed_total":
                outcome = sample.labels["outcome"]
                found[outcome] = found.get(outcome, 0) + int(sample.value)
    return found


async def replay(service: str, *, into: str | None, idle_s: float, show: bool) -> dict[str, Any]:
    """Run the service's own consumer under a new group from the earliest offset until
    every record there was has been handled (or nothing came for ``idle_s``)."""
    group = f"crm-{service}-replay-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}"
    overrides: dict[str, Any] = {"kafka_group_id": group, "kafka_group_instance_id": None}
    if into:
        overrides["mongo_database"] = into
    create_app, settings = service_settings(service, **overrides)
    app = create_app(settings)
    _logs_to_stderr()  # stdout is the CLI's answer (--json)
    runtime = app.state.runtime
    total = await records_to_read(settings, sorted(runtime.consumer.topics))
    async with app.router.lifespan_context(app):
        await _follow(runtime, total, idle_s, show)
        found = outcomes(runtime)
    return {
        "service": service,
        "group": group,
        "database": settings.mongo_database,
        "records": total,
        "outcomes": found,
        "changed": found.get("applied", 0),
        "unchanged": found.get("duplicate", 0),
    }


def _logs_to_stderr() -> None:
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


async def _follow(runtime: Any, total: int, idle_s: float, show: bool) -> None:
    with Progress(disable=not show, transient=False) as progress:
        task = progress.add_task("replaying", total=total or None)
        seen, quiet_since = -1, time.monotonic()
        while True:
            done = sum(outcomes(runtime).values())
            progress.update(task, completed=done)
            if done != seen:
                seen, quiet_since = done, time.monotonic()
            if (total and done >= total) or time.monotonic() - quiet_since > idle_s:
                return
            await asyncio.sleep(0.2)
