"""Use cases of insights: each consumed event is one decision on its subject's aggregate;
queries read the journey and the KPI buckets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from crm_events import deterministic_event_id
from crm_insights import codec, decisions, kpis, queues
from crm_insights.decisions import ErasureRequest
from crm_insights.domain import (
    Case,
    Complaint,
    CustomerFacts,
    FollowUp,
    JourneyEntry,
    Observed,
    SubjectFacts,
)
from crm_insights.kpis import Bucket, Period
from crm_runtime.errors import NotFound
from crm_runtime.store import AggregateStore


class ReadModels(Protocol):
    """What the aggregate store's backend does not offer (``codec.MongoReadModels``)."""

    async def search(self, text: str, limit: int) -> list[dict[str, Any]]: ...

    async def buckets(self, period: Period, first: date) -> tuple[list[Bucket], dict[str, int]]: ...

    async def fold(self, limit: int) -> int: ...

    async def erase_journey(self, customer_id: str) -> None: ...

    async def queue(
        self, field: str, limit: int, equals: dict[str, str] | None = None
    ) -> list[CustomerFacts]: ...


class InsightsService:
    def __init__(
        self,
        customers: AggregateStore[CustomerFacts],
        subjects: AggregateStore[SubjectFacts],
        reads: ReadModels,
    ) -> None:
        self.customers = customers
        self.subjects = subjects
        self.reads = reads

    # --- facts ---------------------------------------------------------------------------------
    async def observe(self, fact: Observed) -> bool:
        if fact.customer_id is None:
            about = await self.subjects.apply(
                fact.subject, fact.event_id, lambda s: decisions.observe_subject(s, fact)
            )
            return about.applied
        applied = await self.customers.apply(
            fact.customer_id, fact.event_id, lambda s: decisions.observe(s, fact)
        )
        return applied.applied

    async def erase(self, request: ErasureRequest, now: datetime) -> bool:
        """Data disposal of one customer (offboarding's erasure request): the name goes and
        the disposal is pending; ``on_due`` strips the journey and attests. Idempotent per
        request."""
        applied = await self.customers.apply(
            request.customer_id,
            deterministic_event_id(request.event_id, decisions.SERVICE, "erase"),
            lambda s: decisions.erase(s, request, now=now),
        )
        return applied.applied

    async def on_due(self, state: CustomerFacts, now: datetime, source: str) -> None:
        """A pending disposal: a write that stores every entry still carried, the journey
        stripped of personal fields, then the attestation. A crash anywhere repeats the
        steps not yet recorded (each is idempotent)."""
        request = state.erasure_request
        if request is None:
            return
        customer_id = state.customer_id
        marker = deterministic_event_id(request, decisions.SERVICE, "strip")
        await self.customers.apply(customer_id, marker, decisions.strip)
        await self.reads.erase_journey(customer_id)
        marker = deterministic_event_id(request, decisions.SERVICE, "attest")
        await self.customers.apply(
            customer_id, marker, lambda s: decisions.attest(s, now=now, source=source)
        )

    # --- queries -------------------------------------------------------------------------------
    async def customer(self, customer_id: str) -> CustomerFacts:
        found = await self.customers.get(customer_id)
        if found is None:
            raise NotFound(f"no events seen for customer {customer_id}")
        return found

    async def journey(
        self, customer_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[JourneyEntry]:
        await self.customer(customer_id)
        return await codec.journey_page(
            self.customers.backend, "customer_id", customer_id, limit=limit, before=before
        )

    async def chain(
        self, correlation_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[JourneyEntry]:
        found = await codec.journey_page(
            self.customers.backend, "correlation_id", correlation_id, limit=limit, before=before
        )
        if not found and before is None:
            raise NotFound(f"no events with correlation id {correlation_id}")
        return found

    async def kpis(self, period: Period, first: date, last: date) -> dict[str, Any]:
        stored, totals = await self.reads.buckets(period, kpis.bucket_start(period, first))
        return kpis.report(period, first, last, stored, totals)

    async def search(self, text: str, limit: int) -> list[dict[str, Any]]:
        return await self.reads.search(text, limit)

    async def fold(self, limit: int) -> int:
        return await self.reads.fold(limit)

    async def complaint_queue(self, limit: int) -> list[QueuedComplaint]:
        """Open complaints feedback warned about or that breached, the soonest due first."""
        customers = await self.reads.queue(codec.ATTENTION_AT, limit)
        found = [
            QueuedComplaint(c.customer_id, c.name, cid, complaint)
            for c in customers
            for cid, complaint in c.complaints.items()
            if complaint.needs_attention
        ]
        return sorted(found, key=lambda q: (q.due_at, q.complaint_id))[:limit]

    async def case_queue(self, limit: int) -> list[QueuedCase]:
        """Open offboarding cases grouped by next action, the oldest step first."""
        customers = await self.reads.queue(codec.CASES_SINCE, limit)
        found = [
            QueuedCase(c.customer_id, c.name, case_id, case)
            for c in customers
            for case_id, case in c.cases.items()
        ]
        order = {action: i for i, (_, action) in enumerate(queues.NEXT.values())}
        return sorted(found, key=lambda q: (order.get(q.case.next_action, 99), q.case.since))[
            :limit
        ]

    async def follow_up_queue(self, owner_id: str | None, limit: int) -> list[QueuedFollowUp]:
        """Open follow-ups (of one owner), overdue first, then the oldest due."""
        equals = None if owner_id is None else {codec.FOLLOW_UP_OWNER: owner_id}
        customers = await self.reads.queue(codec.FOLLOW_UP_AT, limit, equals)
        found = [
            QueuedFollowUp(c.customer_id, c.name, fid, follow_up)
            for c in customers
            for fid, follow_up in queues.open_follow_ups(c)
            if owner_id is None or follow_up.owner_id == owner_id
        ]
        return sorted(found, key=lambda q: (not q.follow_up.overdue, q.follow_up.due_at))[:limit]


@dataclass(frozen=True)
class QueuedFollowUp:
    customer_id: str
    name: str | None
    follow_up_id: str
    follow_up: FollowUp


@dataclass(frozen=True)
class QueuedComplaint:
    customer_id: str
    name: str | None
    complaint_id: str
    complaint: Complaint

    @property
    def due_at(self) -> datetime:
        due = self.complaint.resolution_due_at or self.complaint.raised_at
        assert due is not None  # needs_attention implies a raised complaint
        return due


@dataclass(frozen=True)
class QueuedCase:
    customer_id: str
    name: str | None
    case_id: str
    case: Case
