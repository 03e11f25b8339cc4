"""Consumer lag per partition, refreshed when Prometheus scrapes `/metrics`.

Lag = the partition's high watermark (as last seen by the consumer's fetches) minus the
group's committed offset: the records received but not yet durably applied, plus those
not fetched yet. Only the partitions assigned to this instance are reported; a partition
that moves to another member disappears from this instance's series.
"""

from __future__ import annotations

import asyncio
from typing import Any

from crm_runtime.logging import get_logger

log = get_logger(__name__)


async def refresh_lag(gauge: Any, subscriber: Any, group: str, timeout_s: float = 2.0) -> None:
    """Set `gauge{group, topic, partition}` for every assigned partition; best effort (a
    scrape must answer even while the broker is away)."""
    consumer = getattr(subscriber, "consumer", None)
    if consumer is None:
        return
    gauge.clear()
    try:
        await asyncio.wait_for(_fill(gauge, consumer, group), timeout=timeout_s)
    except Exception as exc:
        log.warning("consumer_lag_unavailable", error=type(exc).__name__)


async def _fill(gauge: Any, consumer: Any, group: str) -> None:
    assigned = sorted(consumer.assignment(), key=lambda t: (t.topic, t.partition))
    committed = await _committed(consumer, assigned)
    for tp in assigned:
        highwater = consumer.highwater(tp)
        if highwater is None:
            continue
        offset = committed.get(tp)
        lag = highwater - (offset if offset is not None and offset >= 0 else 0)
        gauge.labels(group=group, topic=tp.topic, partition=str(tp.partition)).set(max(lag, 0))


async def _committed(consumer: Any, partitions: list[Any]) -> dict[Any, int | None]:
    """The group's committed offsets of ``partitions`` in one OffsetFetch request.

    ``AIOKafkaConsumer.committed`` asks per partition: a scrape of insights (60 topics, 240
    partitions) took most of a second. The coordinator's batch call is what ``committed``
    itself uses (aiokafka is pinned); without it, per partition."""
    coordinator = getattr(consumer, "_coordinator", None)
    fetch = getattr(coordinator, "fetch_committed_offsets", None)
    if fetch is None:
        return {tp: await consumer.committed(tp) for tp in partitions}
    found = await fetch(partitions)
    return {tp: found[tp].offset for tp in partitions if tp in found}
