"""HTTP API of the offboarding service (OpenAPI at /docs).

The acting employee is named in the body (``made_by``, ``decided_by``, ``agreed_by``,
``retained_by``): API keys identify calling systems and roles, not people.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from crm_events import deterministic_event_id
from crm_events.common import (
    AmountMinor,
    Channel,
    CurrencyCode,
    CustomerId,
    EmployeeId,
    EntityId,
    FreeText,
    RiskCategory,
    ShortText,
    Timestamp,
)
from crm_offboarding import codec
from crm_offboarding.aftercare import FollowUpTask, LegalHold, Review
from crm_offboarding.domain import (
    Case,
    ExitAgreement,
    ManualRisk,
    NegotiationRound,
    RetentionOffer,
    RetentionOutcome,
    TerminationPlan,
)
from crm_offboarding.lifecycle import Action, CaseState
from crm_offboarding.plan import Assessment, PlannedCommunication
from crm_offboarding.service import OffboardingService
from crm_offboarding.views import (
    CaseList,
    CaseView,
    WorkQueue,
    case_view,
    export_bundle,
    queue_item,
)
from crm_runtime.errors import Conflict, NotFound
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


class OpenCase(_Request):
    customer_id: CustomerId
    category: RiskCategory
    reasons: list[ShortText] = Field(min_length=1, max_length=20)
    evidence: list[ShortText] = Field(
        default_factory=list, max_length=20, description="Documents, figures or facts."
    )
    opened_by: EmployeeId = Field(description="Manager who raises the risk.")
    owner_id: EmployeeId | None = Field(None, description="Case manager; default opened_by.")


class RecordAssessment(_Request):
    customer_value_minor: AmountMinor = Field(description="Yearly revenue at stake.")
    currency: CurrencyCode
    contract_obligations: list[ShortText] = Field(default_factory=list, max_length=20)
    reasons: list[ShortText] = Field(min_length=1, max_length=20)
    recommended_strategy: Literal["retain", "terminate"]
    assessed_by: EmployeeId


class PlanCommunication(_Request):
    goal: ShortText = Field(description="What the communication should achieve.")
    audience: ShortText = Field(description="Who is addressed (e.g. the customer's CFO).")
    channel: Channel
    scheduled_at: Timestamp
    planned_by: EmployeeId


class HoldCommunication(_Request):
    number: Annotated[int, Field(ge=1, le=10_000)]
    outcome: ShortText
    held_by: EmployeeId
    held_at: Timestamp | None = Field(None, description="Defaults to now.")


class RequestExport(_Request):
    requested_by: EmployeeId = Field(description="Manager who asks for the export.")


class RecordReview(_Request):
    root_causes: list[RiskCategory] = Field(min_length=1, max_length=4)
    preventable: bool
    late_signals: list[ShortText] = Field(default_factory=list, max_length=20)
    changes: list[ShortText] = Field(default_factory=list, max_length=20)
    summary: Annotated[FreeText, Field(min_length=1)]
    reviewed_by: EmployeeId


class LogFollowUp(_Request):
    description: Annotated[FreeText, Field(min_length=1)]
    done_by: EmployeeId


class PlaceHold(_Request):
    hold_id: EntityId
    reason: ShortText
    placed_by: EmployeeId
    until: Timestamp | None = Field(None, description="The hold ends by itself then.")


class ReleaseHold(_Request):
    hold_id: EntityId
    released_by: EmployeeId


def build_router(service: OffboardingService) -> APIRouter:
    router = APIRouter(tags=["offboarding"])

    def view(case: Case) -> CaseView:
        return case_view(case, service.now(), service.rules)

    @router.post(
        "/cases",
        status_code=201,
        dependencies=[_managers],
        responses=error_responses({409: "The customer's open case kept changing."}),
    )
    async def open_case(body: OpenCase, idempotency_key: IdempotencyKey = None) -> CaseView:
        """Open a case by hand; with a case already open for the customer, the risk joins it."""
        event_id = service.event_id("open-case", body.customer_id, idempotency_key)
        raised = ManualRisk(**body.model_dump(mode="json"))
        return view(await service.open_manually(raised, event_id))

    @router.get("/cases", dependencies=[_readers])
    async def work_queue(
        state: Annotated[CaseState | None, Query()] = None,
        category: Annotated[RiskCategory | None, Query()] = None,
        owner: Annotated[EmployeeId | None, Query()] = None,
        opened_before: Annotated[Timestamp | None, Query()] = None,
        include_closed: bool = False,
        limit: Annotated[int, Query(ge=1, le=codec.MAX_CASES_LISTED)] = 50,
    ) -> WorkQueue:
        """The offboarding work queue, newest first: open cases unless a state is given."""
        query = codec.QueueQuery(
            state=state.value if state else None,
            category=category.value if category else None,
            owner_id=owner,
            opened_before=opened_before,
            include_closed=include_closed,
            limit=limit,
        )
        now = service.now()
        cases = await service.queue(query)
        return WorkQueue(items=[queue_item(c, now, service.rules) for c in cases])

    @router.get("/cases/{case_id}", dependencies=[_readers], responses=_UNKNOWN)
    async def get_case(case_id: EntityIdPath) -> CaseView:
        return view(await service.case(case_id))

    @router.get("/customers/{customer_id}/cases", dependencies=[_readers])
    async def cases_of(customer_id: CustomerIdPath) -> CaseList:
        return CaseList(items=[view(c) for c in await service.cases_of(customer_id)])

    @router.post("/cases/{case_id}/assessment", dependencies=[_managers], responses=_STEP)
    async def record_assessment(
        case_id: EntityIdPath, body: RecordAssessment, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        """Customer value, contract obligations, reasons and the recommended strategy."""
        event_id = service.event_id("assess", case_id, idempotency_key)
        assessment = Assessment(**body.model_dump(), assessed_at=service.now())
        return view(await service.assess(case_id, assessment, event_id))

    @router.post(
        "/cases/{case_id}/communications",
        status_code=201,
        dependencies=[_negotiators],
        responses=_STEP,
    )
    async def plan_communication(
        case_id: EntityIdPath, body: PlanCommunication, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        """Add a communication to the plan; its schedule is a durable due date."""
        event_id = service.event_id("plan-communication", case_id, idempotency_key)
        planned = PlannedCommunication(number=0, **body.model_dump(mode="python"))
        return view(await service.plan_communication(case_id, planned, event_id))

    @router.post(
        "/cases/{case_id}/communications-held", dependencies=[_negotiators], responses=_STEP
    )
    async def hold_communication(
        case_id: EntityIdPath, body: HoldCommunication, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        """A planned communication took place (published as ContactLogged)."""
        event_id = service.event_id(f"hold-communication:{body.number}", case_id, idempotency_key)
        held = await service.hold_communication(
            case_id, body.number, body.held_by, body.outcome, body.held_at, event_id
        )
        return view(held)

    @router.post(
        "/cases/{case_id}/exports", status_code=201, dependencies=[_managers], responses=_STEP
    )
    async def request_export(
        case_id: EntityIdPath, body: RequestExport, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        """Ask every service for the customer's data (portability); see `exports`."""
        event_id = service.event_id("request-export", case_id, idempotency_key)
        export_id = "exp-" + deterministic_event_id(event_id, "export")
        return view(await service.request_export(case_id, export_id, body.requested_by, event_id))

    @router.get(
        "/cases/{case_id}/exports/{export_id}",
        dependencies=[_managers],
        responses=error_responses(
            {404: "Unknown case or export.", 409: "Sections are still missing."}
        ),
    )
    async def download_export(case_id: EntityIdPath, export_id: EntityIdPath) -> dict[str, Any]:
        """The bundle: one JSON document, a section per service with its shape's version."""
        case = await service.case(case_id)
        export = case.exports.get(export_id)
        if export is None:
            raise NotFound(f"case {case_id} has no export {export_id}")
        if export.missing:
            raise Conflict(f"export {export_id} still misses: {', '.join(export.missing)}")
        return export_bundle(case, export)

    @router.post("/cases/{case_id}/review", dependencies=[_managers], responses=_STEP)
    async def record_review(
        case_id: EntityIdPath, body: RecordReview, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        """The lessons-learned review; closes the case once its disposal is attested."""
        event_id = service.event_id(Action.RECORD_REVIEW, case_id, idempotency_key)
        terms = body.model_dump(mode="json")
        review = Review(**terms, reviewed_at=service.now())
        return view(await service.record_review(case_id, review, event_id))

    @router.post(
        "/cases/{case_id}/follow-ups", status_code=201, dependencies=[_negotiators], responses=_STEP
    )
    async def log_follow_up(
        case_id: EntityIdPath, body: LogFollowUp, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        event_id = service.event_id("log-follow-up", case_id, idempotency_key)
        task = FollowUpTask(0, body.description, body.done_by, service.now())
        return view(await service.log_follow_up(case_id, task, event_id))

    @router.post(
        "/cases/{case_id}/holds", status_code=201, dependencies=[_managers], responses=_STEP
    )
    async def place_hold(
        case_id: EntityIdPath, body: PlaceHold, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        """A legal hold: no service erases the customer's data while it holds."""
        event_id = service.event_id("place-hold", case_id, idempotency_key)
        hold = LegalHold(**body.model_dump(), placed_at=service.now())
        return view(await service.place_hold(case_id, hold, event_id))

    @router.post("/cases/{case_id}/hold-releases", dependencies=[_managers], responses=_STEP)
    async def release_hold(
        case_id: EntityIdPath, body: ReleaseHold, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        """Release a legal hold; the disposal resumes when no other hold remains."""
        event_id = service.event_id("release-hold:" + body.hold_id, case_id, idempotency_key)
        released = await service.release_hold(case_id, body.hold_id, body.released_by, event_id)
        return view(released)

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
        return view(case)

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
        return view(await service.record_round(case_id, held, event_id))

    @router.post("/cases/{case_id}/exit", dependencies=[_managers], responses=_STEP)
    async def conclude_exit(
        case_id: EntityIdPath, body: ConcludeExit, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        event_id = service.event_id(Action.CONCLUDE_EXIT, case_id, idempotency_key)
        agreement = ExitAgreement(**body.model_dump())
        return view(await service.conclude_exit(case_id, agreement, event_id))

    @router.post("/cases/{case_id}/retention", dependencies=[_managers], responses=_STEP)
    async def conclude_retention(
        case_id: EntityIdPath, body: ConcludeRetention, idempotency_key: IdempotencyKey = None
    ) -> CaseView:
        event_id = service.event_id(Action.CONCLUDE_RETENTION, case_id, idempotency_key)
        outcome = RetentionOutcome(**body.model_dump())
        return view(await service.conclude_retention(case_id, outcome, event_id))

    return router
