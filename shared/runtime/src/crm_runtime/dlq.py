"""Dead-letter queue: the original bytes go to ``<topic>.dlq`` with the reason in headers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from crm_runtime.clock import Clock
from crm_runtime.topics import dlq_topic


class RawPublisher(Protocol):
    async def publish(
        self, value: bytes, topic: str, *, key: bytes | None, headers: dict[str, str]
    ) -> None: ...


@dataclass(frozen=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str]


class BatchPublisher(Protocol):
    async def publish_all(self, records: Sequence[OutgoingRecord]) -> None:
        """Send in order; return once the broker acknowledged every record."""
        ...


class DeadLetters:
    def __init__(self, publisher: RawPublisher, *, group_id: str, clock: Clock) -> None:
        self._publisher = publisher
        self._group_id = group_id
        self._clock = clock

    async def send(self, record: Any, *, kind: str, reason: str) -> None:
        """Publish and wait for the broker's acknowledgement before the offset moves on."""
        headers = {
            name: value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            for name, value in (record.headers or ())
        }
        headers.update(
            {
                "dlq-reason": reason[:1000],
                "dlq-kind": kind,
                "dlq-original-topic": record.topic,
                "dlq-original-partition": str(record.partition),
                "dlq-original-offset": str(record.offset),
                "dlq-consumer-group": self._group_id,
                "dlq-failed-at": self._clock.now().isoformat(),
            }
        )
        await self._publisher.publish(
            record.value if record.value is not None else b"",
            dlq_topic(record.topic),
            key=record.key,
            headers=headers,
        )
