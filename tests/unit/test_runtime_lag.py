"""Consumer lag per partition from one committed-offsets request (not one per partition)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry, Gauge

from crm_runtime.lag import refresh_lag

pytestmark = pytest.mark.unit
PARTITIONS = [TopicPartition(f"t{t}", p) for t in range(3) for p in range(4)]


class Coordinator:
    def __init__(self) -> None:
        self.requests: list[list[TopicPartition]] = []

    async def fetch_committed_offsets(
        self, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        self.requests.append(list(partitions))
        # t0: committed 7 of 10; t1: never committed (-1); t2: absent from the answer
        offsets = {"t0": 7, "t1": -1}
        return {
            tp: OffsetAndMetadata(offsets[tp.topic], "") for tp in partitions if tp.topic in offsets
        }


class Consumer:
    def __init__(self) -> None:
        self._coordinator = Coordinator()

    def assignment(self) -> set[TopicPartition]:
        return set(PARTITIONS)

    def highwater(self, tp: TopicPartition) -> int:
        return 10


class Subscriber:
    def __init__(self) -> None:
        self.consumer = Consumer()


async def test_lag_is_highwater_minus_committed_from_one_request() -> None:
    registry = CollectorRegistry()
    gauge = Gauge("lag", "lag", ["group", "topic", "partition"], registry=registry)
    subscriber: Any = Subscriber()

    await refresh_lag(gauge, subscriber, "g")

    assert len(subscriber.consumer._coordinator.requests) == 1
    lag = {
        (s.labels["topic"], s.labels["partition"]): s.value
        for metric in registry.collect()
        for s in metric.samples
    }
    assert {lag[("t0", str(p))] for p in range(4)} == {3.0}
    assert {lag[("t1", str(p))] for p in range(4)} == {10.0}  # nothing committed yet
    assert {lag[("t2", str(p))] for p in range(4)} == {10.0}
