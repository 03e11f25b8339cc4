"""Insights' unit rig: the real wiring over the in-memory aggregate store, and in-memory
read models that fold KPI contributions with the same pure bucket arithmetic."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from crm_events import CloudEvent, EventData
from crm_insights.app import create_app
from crm_insights.codec import CustomerCodec
from crm_insights.domain import PERSONAL_FIELDS, CustomerFacts, Observed
from crm_insights.kpis import ALL, Bucket, Period
from crm_insights.service import InsightsService
from crm_insights.settings import InsightsSettings
from crm_insights.translate import lane
from crm_runtime.clock import ManualClock
from tests.store_memory import InMemoryBackend
from tests.unit.delivery import deliver

INSIGHTS_NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


class MemoryReadModels:
    """``ReadModels`` over the in-memory backend's documents (folds each delta once)."""

    def __init__(self, backend: InMemoryBackend) -> None:
        self.backend = backend
        self.folded: set[str] = set()
        self.counts: dict[str, Counter[str]] = {}

    async def search(self, text: str, limit: int) -> list[dict[str, Any]]:
        docs = self.backend.docs("customers").values()
        key = text.casefold()
        hits = [
            d
            for d in docs
            if d["_id"].startswith(text) or (d.get("name_key") or "").startswith(key)
        ]
        return hits[:limit]

    async def fold(self, limit: int) -> int:
        pending = [
            d for d in self.backend.docs("kpi_deltas").values() if d["_id"] not in self.folded
        ]
        for delta in pending[:limit]:
            self.folded.add(delta["_id"])
            for bucket, incs in delta["increments"].items():
                self.counts.setdefault(bucket, Counter()).update(incs)
        return len(pending[:limit])

    async def buckets(self, period: Period, first: date) -> tuple[list[Bucket], dict[str, int]]:
        await self.fold(10_000)
        found = [
            Bucket(date.fromisoformat(key.partition(":")[2]), counts)
            for key, counts in self.counts.items()
            if key.startswith(f"{period}:") and key.partition(":")[2] >= first.isoformat()
        ]
        return found, dict(self.counts.get(ALL, Counter()))

    async def queue(
        self, field: str, limit: int, equals: dict[str, str] | None = None
    ) -> list[CustomerFacts]:
        docs = [
            d
            for d in self.backend.docs("customers").values()
            if d.get(field, "~") < "~" and all(d.get(k) == v for k, v in (equals or {}).items())
        ]
        docs.sort(key=lambda d: str(d[field]))
        return [CustomerCodec().decode(d) for d in docs[:limit]]

    async def erase_journey(self, customer_id: str) -> None:
        for doc in self.backend.docs("journey").values():
            if doc.get("customer_id") == customer_id:
                # As ``codec.erase_journey`` does: unset the personal fields, keep the rest.
                doc["data"] = {k: v for k, v in doc["data"].items() if k not in PERSONAL_FIELDS}
                doc["erased"] = True


@dataclass
class Insights:
    service: InsightsService
    backend: InMemoryBackend
    reads: MemoryReadModels
    clock: ManualClock
    runtime: Any

    async def deliver(self, event: CloudEvent) -> str:
        return await deliver(self.runtime, event)

    def event(self, data: EventData, at: datetime | None = None, **links: Any) -> CloudEvent:
        return data.to_event(source="/test", time=at or self.clock.now(), **links)

    async def sweep(self, name: str = "erasure") -> int:
        """One pass of the named sweeper at the clock's time."""
        [sweeper] = [s for s in self.runtime.sweepers if s.name == name]
        return int(await sweeper.sweep())


def insights_rig() -> Insights:
    backend = InMemoryBackend()
    clock = ManualClock(INSIGHTS_NOW)
    reads = MemoryReadModels(backend)
    app = create_app(InsightsSettings(), clock, store=backend, reads=reads)
    return Insights(app.state.service, backend, reads, clock, app.state.runtime)


def fact(
    event_type: str, customer: str | None, at: datetime, topic: str = "crm.x.y", **data: Any
) -> Observed:
    """A hand-made observed fact (any type name, even one the catalogue lacks yet)."""
    return Observed(
        event_id=f"{event_type}-{customer}-{at.isoformat()}-{sorted(data.items())}",
        event_type=event_type,
        topic=topic,
        service=lane(topic),
        subject=customer or "emp-1",
        customer_id=customer,
        at=at,
        correlation_id="corr",
        causation_id=None,
        data={"customer_id": customer, **data} if customer else data,
    )
