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
    for tp in sorted(consumer.assignment(), key=lambda t: (t.topic, t.partition)):
        highwater = consumer.highwater(tp)
        if highwater is None:
            continue
        committed = await consumer.committed(tp)
        lag = highwater - (committed if committed is not None and committed >= 0 else 0)
        gauge.labels(group=group, topic=tp.topic, partition=str(tp.partition)).set(max(lag, 0))
