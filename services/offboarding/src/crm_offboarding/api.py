"""HTTP API of the offboarding service (OpenAPI at /docs).

The acting employee is named in the body (``made_by``, ``decided_by``, ``agreed_by``,
``retained_by``): API keys identify calling systems and roles, not people.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from crm_events.common import (
    AmountMinor,
    Channel,
    CurrencyCode,
    EmployeeId,
    FreeText,
    ShortText,
    Timestamp,
)
from crm_offboarding.domain import (
    ExitAgreement,
    NegotiationRound,
    RetentionOffer,
    RetentionOutcome,
    TerminationPlan,
)
from crm_offboarding.lifecycle import Action
from crm_offboarding.service import OffboardingService
from crm_offboarding.views import CaseList, CaseView, case_view
from crm_runtime.http import CustomerIdPath, EntityIdPath, error_responses
from crm_runtime.security import IdempotencyKey, require
from crm_runtime.settings import Role

_readers = Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))
_negotiators = Depends(require(Role.AGENT, Role.MANAGER))
_managers = Depends(require(Role.MANAGER))
_UNKNOWN = error_responses({404: "Unknown case."})
_STEP = error_responses(
    {
        404: "Unknown case.",
        409: "Not allowed in the case's state (body lists `allowed` actions), or changed "
        "concurrently.",
    }
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetainStrategy(_Request):
    strategy: Literal["retain"]
    offer: Annotated[FreeText, Field(min_length=1)]
    value_minor: AmountMinor
    currency: CurrencyCode
    valid_until: Timestamp
    made_by: EmployeeId = Field(description="Manager who makes the offer.")


class TerminateStrategy(_Request):
    strategy: Literal["terminate"]
    compensation_minor: AmountMinor = Field(description="Compensation proposed to the customer.")
    currency: CurrencyCode
    reason: ShortText = Field(description="Why the company ends the relationship.")
    decided_by: EmployeeId = Field(description="Manager who decided.")


ChooseStrategy = Annotated[RetainStrategy | TerminateStrategy, Body(discriminator="strategy")]


class RecordRound(_Request):
    channel: Channel
    participants: list[EmployeeId] = Field(min_length=1, max_length=20)
    outcome: Literal["continue", "agreement_reached", "stalled"]
    notes: FreeText | None = None
    held_at: Timestamp | None = Field(None, description="Defaults to now.")


class ConcludeExit(_Request):
    effective_date: Timestamp
    compensation_minor: AmountMinor
    currency: CurrencyCode
    terms: Annotated[FreeText, Field(min_length=1)]
    agreed_by: EmployeeId = Field(description="Manager who signed for the company.")
    follow_up_until: Timestamp | None = None


class ConcludeRetention(_Request):
    offer_accepted: bool
    retained_by: EmployeeId = Field(description="Manager who concluded the case.")


def build_router(service: OffboardingService) -> APIRouter:
    router = APIRouter(tags=["offboarding"])

    @router.get("/cases/{case_id}", dependencies=[_readers], responses=_UNKNOWN)
    async def get_case(case_id: EntityIdPath) -> CaseView:
        return case_view(await service.case(case_id))

    @router.get("/customers/{customer_id}/cases", dependencies=[_readers])
    async def cases_of(customer_id: CustomerIdPath) -> CaseList:
        return CaseList(items=[case_view(c) for c in await service.cases_of(customer_id)])

    @router.post("/cases/{case_id}/strategy", dependencies=[_managers], responses=_STEP)
    async def choose_strategy(
        case_id: EntityIdPath, body: ChooseStrategy, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        terms = body.model_dump(exclude={"strategy"})
        event_id = service.event_id("choose-strategy", case_id, idempotency_key)
        if isinstance(body, RetainStrategy):
            case = await service.choose_retention(case_id, RetentionOffer(**terms), event_id)
        else:
            case = await service.choose_termination(case_id, TerminationPlan(**terms), event_id)
        return case_view(case)

    @router.post(
        "/cases/{case_id}/negotiation-rounds",
        status_code=201,
        dependencies=[_negotiators],
        responses=_STEP,
    )
    async def record_round(
        case_id: EntityIdPath, body: RecordRound, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        event_id = service.event_id(Action.RECORD_ROUND, case_id, idempotency_key)
        held = NegotiationRound(**body.model_dump())
        return case_view(await service.record_round(case_id, held, event_id))

    @router.post("/cases/{case_id}/exit", dependencies=[_managers], responses=_STEP)
    async def conclude_exit(
        case_id: EntityIdPath, body: ConcludeExit, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        event_id = service.event_id(Action.CONCLUDE_EXIT, case_id, idempotency_key)
        agreement = ExitAgreement(**body.model_dump())
        return case_view(await service.conclude_exit(case_id, agreement, event_id))

    @router.post("/cases/{case_id}/retention", dependencies=[_managers], responses=_STEP)
    async def conclude_retention(
        case_id: EntityIdPath, body: ConcludeRetention, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        event_id = service.event_id(Action.CONCLUDE_RETENTION, case_id, idempotency_key)
        outcome = RetentionOutcome(**body.model_dump())
        return case_view(await service.conclude_retention(case_id, outcome, event_id))

    return router
