"""The FastStream Kafka broker and its wiring to the consumer (ack after effect)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from crm_runtime.consumer import EventConsumer
from crm_runtime.dlq import OutgoingRecord
from crm_runtime.settings import ServiceSettings


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        security=settings.kafka_security(),
        client_id=f"crm-{settings.service_name}",
        # Every in-sync replica has the record before a send succeeds, and the
        # idempotent producer keeps a retried send from writing a duplicate or
        # reordering a partition (brokers without it, like the Tansu stand-in, refuse:
        # `KAFKA_IDEMPOTENT_PRODUCER=false` there).
        acks="all",
        enable_idempotence=settings.kafka_idempotent_producer,
        graceful_timeout=9.0,  # inside the 10 s shutdown step for consuming
        max_request_size=max(settings.max_event_bytes * 2, 1_048_576),
        # Route FastStream's own records through the structlog JSON handler on the root.
        logger=logging.getLogger("crm.faststream"),
    )


class BrokerPublisher:
    """Publishes raw record values and waits for the broker's acknowledgement."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def publish(
        self, value: bytes, topic: str, *, key: bytes | None, headers: dict[str, str]
    ) -> None:
        await self._broker.publish(value, topic, key=key, headers=headers)

    async def publish_all(self, records: Sequence[OutgoingRecord]) -> None:
        """Issue every send in order (same-partition order is kept), then await them all."""
        pending = [
            await self._broker.publish(
                r.value, r.topic, key=r.key, headers=r.headers, no_confirm=True
            )
            for r in records
        ]
        # Shielded: a cancelled relay must not cancel sends the producer already holds
        # (that can wedge the producer's shutdown); they complete or fail on their own.
        outcomes = await asyncio.gather(
            *(asyncio.shield(f) for f in pending), return_exceptions=True
        )
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            raise failures[0]


def subscribe(broker: KafkaBroker, consumer: EventConsumer, settings: ServiceSettings) -> Any:
    """One batch subscriber over every consumed topic; offsets committed per finished batch."""

    async def raw_bytes(message: Any) -> Any:
        # Decoding and validation belong to the consumer, which dead-letters bad input.
        return None

    subscriber = broker.subscriber(
        *consumer.topics,
        group_id=settings.group_id,
        group_instance_id=settings.kafka_group_instance_id,
        batch=True,
        max_records=settings.consumer_batch_size,
        batch_timeout_ms=100,
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_interval_ms=settings.kafka_max_poll_interval_ms,
        decoder=raw_bytes,
        title=f"{settings.service_name}-consumer",
    )

    @subscriber
    async def on_batch(message: KafkaMessage) -> None:
        try:
            await consumer.process_batch(message.raw_message)
        except BaseException:
            # Rewind so nothing past an unfinished record can be committed later.
            await message.nack()
            raise
        await message.ack()

    return subscriber
