"""HTTP API of the insights service (OpenAPI at /docs): journeys, KPIs, customer search."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from crm_events.common import EmployeeId
from crm_insights.domain import JourneyEntry
from crm_insights.kpis import KPIS, Period, bucket_start, next_start
from crm_insights.service import InsightsService
from crm_insights.summaries import Lang, summary
from crm_runtime.cursors import decode_time_cursor, encode_time_cursor
from crm_runtime.errors import DomainError
from crm_runtime.http import CustomerIdPath, EntityIdPath, error_responses
from crm_runtime.security import require
from crm_runtime.settings import Role

_staff = Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))
_UNKNOWN = error_responses({404: "No event seen for it."})
MAX_BUCKETS = 400
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)  # the contracts' timestamp range
LangQuery = Annotated[Literal["en", "zh"], Query(description="Language of the summaries.")]


class JourneyItem(BaseModel):
    event_id: str
    customer_id: str | None
    subject: str
    service: str = Field(description="The lane: the context that published the event.")
    type: str = Field(description="Event type name, e.g. ComplaintRaised.")
    at: datetime
    summary: str = Field(description="One line, in the requested language.")
    correlation_id: str
    causation_id: str | None
    data: dict[str, Any] = Field(description="The event's payload (personal fields erased).")
    erased: bool


class JourneyPage(BaseModel):
    items: list[JourneyItem] = Field(description="Oldest first within the page.")
    next_cursor: str | None = Field(description="Pass as ?before= to get older events.")


class KpiDefinition(BaseModel):
    id: str
    name: str
    unit: str
    how: str = Field(description="How the figure is computed, from which events.")


class KpiRow(BaseModel):
    start: date
    figures: dict[str, Any]


class KpiReport(BaseModel):
    period: Period
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    kpis: list[KpiDefinition]
    buckets: list[KpiRow]
    total: dict[str, Any] = Field(description="The figures over the whole range.")

    model_config = {"populate_by_name": True}


class CustomerHit(BaseModel):
    customer_id: str
    name: str | None
    customer_class: str | None
    lost: bool
    events: int
    last_event_at: datetime | None


class ComplaintInQueue(BaseModel):
    customer_id: str
    name: str | None
    complaint_id: str
    severity: str | None
    owner_id: str | None
    due_at: datetime = Field(description="Resolution deadline (raised time when unknown).")
    breached: bool = Field(description="A deadline has passed (else: feedback warned).")


class CaseInQueue(BaseModel):
    customer_id: str
    name: str | None
    case_id: str
    stage: str
    next_action: str = Field(
        description="assess, await_answer, next_round, record_agreement, end_relationship, "
        "dispose_and_review."
    )
    since: datetime = Field(description="When the case reached this stage.")
    due_at: datetime | None = Field(description="Offer validity or exit effective date.")


class FollowUpInQueue(BaseModel):
    customer_id: str
    name: str | None
    follow_up_id: str
    owner_id: str = Field(description="Who should make the contact (the account's owner).")
    due_at: datetime = Field(description="Deadline for the next qualifying contact.")
    overdue: bool = Field(description="Contacts said the deadline passed without a contact.")


def build_router(service: InsightsService) -> APIRouter:
    router = APIRouter(tags=["insights"], dependencies=[_staff])

    @router.get("/customers")
    async def search_customers(
        q: Annotated[str, Query(min_length=1, max_length=100, description="Id or name prefix.")],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> list[CustomerHit]:
        return [_hit(doc) for doc in await service.search(q, limit)]

    @router.get("/customers/{customer_id}/journey", responses=_UNKNOWN)
    async def customer_journey(
        customer_id: CustomerIdPath,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        before: Annotated[str | None, Query(description="Cursor from next_cursor.")] = None,
        lang: LangQuery = "en",
    ) -> JourneyPage:
        entries = await service.journey(customer_id, limit=limit, before=decode_time_cursor(before))
        return page(entries, limit, lang)

    @router.get("/journeys/{correlation_id}", responses=_UNKNOWN)
    async def correlated(
        correlation_id: EntityIdPath,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        before: Annotated[str | None, Query(description="Cursor from next_cursor.")] = None,
        lang: LangQuery = "en",
    ) -> JourneyPage:
        entries = await service.chain(
            correlation_id, limit=limit, before=decode_time_cursor(before)
        )
        return page(entries, limit, lang)

    @router.get("/queues/complaints")
    async def complaints_near_breach(
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[ComplaintInQueue]:
        return [
            ComplaintInQueue(
                customer_id=q.customer_id,
                name=q.name,
                complaint_id=q.complaint_id,
                severity=q.complaint.severity,
                owner_id=q.complaint.owner_id,
                due_at=q.due_at,
                breached=q.complaint.breached,
            )
            for q in await service.complaint_queue(limit)
        ]

    @router.get("/queues/cases")
    async def open_cases(limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CaseInQueue]:
        return [
            CaseInQueue(
                customer_id=q.customer_id,
                name=q.name,
                case_id=q.case_id,
                stage=q.case.stage,
                next_action=q.case.next_action,
                since=q.case.since,
                due_at=q.case.due_at,
            )
            for q in await service.case_queue(limit)
        ]

    @router.get("/queues/follow-ups")
    async def follow_ups(
        owner_id: Annotated[
            EmployeeId | None, Query(description="Only this owner's follow-ups.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[FollowUpInQueue]:
        return [
            FollowUpInQueue(
                customer_id=q.customer_id,
                name=q.name,
                follow_up_id=q.follow_up_id,
                owner_id=q.follow_up.owner_id,
                due_at=q.follow_up.due_at,
                overdue=q.follow_up.overdue,
            )
            for q in await service.follow_up_queue(owner_id, limit)
        ]

    @router.get("/kpis")
    async def kpi_report(
        period: Period = "month",
        start: Annotated[date | None, Query(alias="from", description="First day (UTC).")] = None,
        end: Annotated[date | None, Query(alias="to", description="Last day (UTC).")] = None,
        lang: LangQuery = "en",
    ) -> KpiReport:
        last = end or datetime.now(UTC).date()
        first = start or bucket_start(period, last)
        check_range(period, first, last)
        found = await service.kpis(period, first, last)
        return KpiReport(
            period=period,
            start=first,
            end=last,
            kpis=definitions(lang),
            buckets=[KpiRow(**row) for row in found["buckets"]],
            total=found["total"],
        )

    return router


def check_range(period: Period, first: date, last: date) -> None:
    if first < FIRST_DAY or last > LAST_DAY:
        raise DomainError(f"dates must lie between {FIRST_DAY} and {LAST_DAY}")
    if first > last:
        raise DomainError("from must not be after to")
    start, count = bucket_start(period, first), 0
    while start <= last:
        count, start = count + 1, next_start(period, start)
        if count > MAX_BUCKETS:
            raise DomainError(f"at most {MAX_BUCKETS} {period}s per query")


def definitions(lang: Lang) -> list[KpiDefinition]:
    return [
        KpiDefinition(
            id=k.id, name=k.name_zh if lang == "zh" else k.name_en, unit=k.unit, how=k.how
        )
        for k in KPIS
    ]


def page(entries: list[JourneyEntry], limit: int, lang: Lang) -> JourneyPage:
    cursor = encode_cursor(entries[-1]) if len(entries) == limit else None
    return JourneyPage(items=[item(e, lang) for e in reversed(entries)], next_cursor=cursor)


def item(entry: JourneyEntry, lang: Lang) -> JourneyItem:
    return JourneyItem(
        event_id=entry.entry_id,
        customer_id=entry.customer_id,
        subject=entry.subject,
        service=entry.service,
        type=entry.event_type,
        at=entry.at,
        summary=summary(entry.event_type, entry.data, lang),
        correlation_id=entry.correlation_id,
        causation_id=entry.causation_id,
        data=entry.data,
        erased=entry.erased,
    )


def _hit(doc: dict[str, Any]) -> CustomerHit:
    last = doc.get("last_event_at")
    return CustomerHit(
        customer_id=doc["_id"],
        name=doc.get("name"),
        customer_class=doc.get("customer_class"),
        lost=bool(doc.get("lost")),
        events=int(doc.get("events") or 0),
        last_event_at=None if last is None else datetime.fromisoformat(last),
    )


def encode_cursor(entry: JourneyEntry) -> str:
    return encode_time_cursor(entry.at, entry.entry_id)
