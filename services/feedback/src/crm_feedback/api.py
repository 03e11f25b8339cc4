"""HTTP API of the feedback service (OpenAPI at /docs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from crm_events.common import Severity
from crm_feedback.domain import Complaint
from crm_feedback.service import ComplaintService, NewComplaint
from crm_feedback.surveys import NewSurveyAnswer, SurveyService
from crm_feedback.views import (
    AcknowledgeComplaint,
    ComplaintList,
    ComplaintView,
    PauseComplaint,
    RaiseComplaint,
    RecordSurvey,
    ReopenComplaint,
    ResolveComplaint,
    ResumeComplaint,
    SurveyList,
    SurveyView,
    complaint_view,
    survey_view,
)
from crm_runtime.http import CustomerIdPath, EmployeeIdPath, EntityIdPath, error_responses
from crm_runtime.security import IdempotencyKey, require
from crm_runtime.settings import Role

StatusFilter = Annotated[
    Literal["open", "resolved", "all"],
    Query(description="open = not resolved yet (acknowledged or not)."),
]
Limit = Annotated[int, Query(ge=1, le=200)]
_staff = Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))
_ERRORS = error_responses(
    {404: "Unknown complaint.", 409: "Not allowed in the complaint's current state."}
)
_UNKNOWN = error_responses({404: "Unknown complaint."})
_ID_TAKEN = error_responses({409: "The id is taken by another request."})
_SURVEY_ERRORS = error_responses(
    {404: "Unknown complaint.", 409: "The survey was already answered by another request."}
)


def build_router(complaints: ComplaintService, surveys: SurveyService) -> APIRouter:
    router = APIRouter(dependencies=[_staff])
    _raise_route(router, complaints)
    _complaint_transitions(router, complaints)
    _desk_transitions(router, complaints)
    _desk_queries(router, complaints)
    _complaint_queries(router, complaints)
    _survey_routes(router, surveys)
    return router


def _raise_route(router: APIRouter, service: ComplaintService) -> None:
    @router.post(
        "/complaints", status_code=status.HTTP_201_CREATED, tags=["complaints"], responses=_ID_TAKEN
    )
    async def raise_complaint(
        body: RaiseComplaint, idempotency_key: IdempotencyKey = None
    ) -> ComplaintView:
        complaint_id = body.complaint_id or service.new_complaint_id(
            body.customer_id, idempotency_key
        )
        request = NewComplaint(**{**body.model_dump(), "complaint_id": complaint_id})
        event_id = service.event_id("raise", complaint_id, idempotency_key)
        return _view(service, await service.raise_complaint(request, event_id))


def _complaint_transitions(router: APIRouter, service: ComplaintService) -> None:
    @router.post("/complaints/{complaint_id}/acknowledge", tags=["complaints"], responses=_ERRORS)
    async def acknowledge_complaint(
        complaint_id: EntityIdPath,
        body: AcknowledgeComplaint,
        idempotency_key: IdempotencyKey = None,
    ) -> ComplaintView:
        event_id = service.event_id("acknowledge", complaint_id, idempotency_key)
        complaint = await service.acknowledge(
            complaint_id, by=body.acknowledged_by, event_id=event_id
        )
        return _view(service, complaint)

    @router.post("/complaints/{complaint_id}/resolve", tags=["complaints"], responses=_ERRORS)
    async def resolve_complaint(
        complaint_id: EntityIdPath, body: ResolveComplaint, idempotency_key: IdempotencyKey = None
    ) -> ComplaintView:
        event_id = service.event_id("resolve", complaint_id, idempotency_key)
        complaint = await service.resolve(
            complaint_id, by=body.resolved_by, resolution=body.resolution, event_id=event_id
        )
        return _view(service, complaint)


def _desk_transitions(router: APIRouter, service: ComplaintService) -> None:
    @router.post("/complaints/{complaint_id}/pause", tags=["complaints"], responses=_ERRORS)
    async def pause_complaint(
        complaint_id: EntityIdPath, body: PauseComplaint, idempotency_key: IdempotencyKey = None
    ) -> ComplaintView:
        """Wait for the customer: the running SLA clocks stop counting (ComplaintPaused)."""
        event_id = service.event_id("pause", complaint_id, idempotency_key)
        complaint = await service.pause(
            complaint_id, reason=body.reason, by=body.paused_by, event_id=event_id
        )
        return _view(service, complaint)

    @router.post("/complaints/{complaint_id}/resume", tags=["complaints"], responses=_ERRORS)
    async def resume_complaint(
        complaint_id: EntityIdPath, body: ResumeComplaint, idempotency_key: IdempotencyKey = None
    ) -> ComplaintView:
        """The clocks count again; deadlines move by the business time paused."""
        event_id = service.event_id("resume", complaint_id, idempotency_key)
        complaint = await service.resume(complaint_id, by=body.resumed_by, event_id=event_id)
        return _view(service, complaint)

    @router.post("/complaints/{complaint_id}/reopen", tags=["complaints"], responses=_ERRORS)
    async def reopen_complaint(
        complaint_id: EntityIdPath, body: ReopenComplaint, idempotency_key: IdempotencyKey = None
    ) -> ComplaintView:
        """The customer disputes the resolution (within the reopen window): open again with
        a fresh resolution clock (ComplaintReopened); 422 after the window."""
        event_id = service.event_id("reopen", complaint_id, idempotency_key)
        complaint = await service.reopen(
            complaint_id, reason=body.reason, by=body.reopened_by, event_id=event_id
        )
        return _view(service, complaint)


DeskState = Annotated[
    Literal["open", "paused", "overdue", "resolved"] | None,
    Query(description="open: a deadline ahead; overdue: every deadline missed."),
]
SeverityFilter = Annotated[Severity | None, Query(description="Only this severity.")]
OwnerFilter = Annotated[
    str | None,
    Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
]
Within = Annotated[int, Query(ge=1, le=7 * 24 * 60, description="Business minutes left at most.")]


def _desk_queries(router: APIRouter, service: ComplaintService) -> None:
    @router.get("/complaints", tags=["complaints"])
    async def desk_queue(
        owner_id: OwnerFilter = None,
        severity: SeverityFilter = None,
        state: DeskState = None,
        limit: Limit = 50,
    ) -> ComplaintList:
        """The desk's queue, newest first, with business time left per clock (one query)."""
        found = await service.desk_queue(
            owner_id=owner_id,
            severity=severity.value if severity else None,
            state=state,
            limit=limit,
        )
        return ComplaintList(items=[_view(service, c) for c in found])

    @router.get("/desk/near-breach", tags=["complaints"])
    async def near_breach(within_minutes: Within = 60, limit: Limit = 50) -> ComplaintList:
        """Running complaints with at most ``within_minutes`` of business time left on a
        clock (each on its own calendar), soonest deadline first."""
        found = await service.near_breach(within=timedelta(minutes=within_minutes), limit=limit)
        return ComplaintList(items=[_view(service, c) for c in found])


def _complaint_queries(router: APIRouter, service: ComplaintService) -> None:
    @router.get("/complaints/{complaint_id}", tags=["complaints"], responses=_UNKNOWN)
    async def get_complaint(complaint_id: EntityIdPath) -> ComplaintView:
        return _view(service, await service.complaint(complaint_id))

    @router.get("/customers/{customer_id}/complaints", tags=["complaints"])
    async def complaints_of_customer(
        customer_id: CustomerIdPath, status: StatusFilter = "all", limit: Limit = 50
    ) -> ComplaintList:
        found = await service.complaints_of_customer(
            customer_id, status=_status(status), limit=limit
        )
        return ComplaintList(items=[_view(service, c) for c in found])

    @router.get("/owners/{owner_id}/complaints", tags=["complaints"])
    async def complaints_of_owner(
        owner_id: EmployeeIdPath, status: StatusFilter = "all", limit: Limit = 50
    ) -> ComplaintList:
        found = await service.complaints_of_owner(owner_id, status=_status(status), limit=limit)
        return ComplaintList(items=[_view(service, c) for c in found])


def _survey_routes(router: APIRouter, service: SurveyService) -> None:
    @router.post(
        "/surveys", status_code=status.HTTP_201_CREATED, tags=["surveys"], responses=_SURVEY_ERRORS
    )
    async def record_survey(
        body: RecordSurvey, idempotency_key: IdempotencyKey = None
    ) -> SurveyView:
        survey_id = body.survey_id or service.new_survey_id(body.customer_id, idempotency_key)
        request = NewSurveyAnswer(**{**body.model_dump(), "survey_id": survey_id})
        event_id = service.event_id(survey_id, idempotency_key)
        return survey_view(await service.record(request, event_id))

    @router.get(
        "/surveys/{survey_id}",
        tags=["surveys"],
        responses=error_responses({404: "Unknown survey."}),
    )
    async def get_survey(survey_id: EntityIdPath) -> SurveyView:
        return survey_view(await service.survey(survey_id))

    @router.get("/customers/{customer_id}/surveys", tags=["surveys"])
    async def surveys_of_customer(customer_id: CustomerIdPath, limit: Limit = 50) -> SurveyList:
        found = await service.surveys_of_customer(customer_id, limit=limit)
        return SurveyList(items=[survey_view(s) for s in found])


def _view(service: ComplaintService, complaint: Complaint) -> ComplaintView:
    return complaint_view(complaint, service.business_time_left(complaint))


def _status(value: str) -> str | None:
    return None if value == "all" else value
