"""HTTP API for feedback and suggestions: given by customers, acted on by the team."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from crm_feedback.suggestion_service import FeedbackService, NewFeedback
from crm_feedback.survey_plan_service import SurveyPlanService
from crm_feedback.views import (
    ChangeFeedbackStatus,
    FeedbackList,
    FeedbackView,
    SubmitFeedback,
    SurveyPlanView,
    feedback_view,
    survey_plan_view,
)
from crm_runtime.errors import NotFound
from crm_runtime.http import CustomerIdPath, EntityIdPath, error_responses
from crm_runtime.security import IdempotencyKey, require
from crm_runtime.settings import Role

_staff = Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))
_UNKNOWN = error_responses({404: "Unknown feedback."})
_STEP_ERRORS = error_responses(
    {404: "Unknown feedback.", 409: "The status cannot follow the current one."}
)
StatusQuery = Annotated[
    Literal["new", "reviewed", "planned", "done", "declined"] | None,
    Query(description="Only feedback in this status."),
]
AreaQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_-]*$", description="Product area."),
]
Limit = Annotated[int, Query(ge=1, le=200)]


def build_feedback_router(service: FeedbackService) -> APIRouter:
    router = APIRouter(dependencies=[_staff], tags=["feedback"])

    @router.post(
        "/feedback",
        status_code=status.HTTP_201_CREATED,
        responses=error_responses({409: "The id is taken by another request."}),
    )
    async def submit_feedback(
        body: SubmitFeedback, idempotency_key: IdempotencyKey = None
    ) -> FeedbackView:
        """Praise, a suggestion or a problem report; published as FeedbackSubmitted."""
        feedback_id = body.feedback_id or service.new_feedback_id(body.customer_id, idempotency_key)
        request = NewFeedback(**{**body.model_dump(), "feedback_id": feedback_id})
        event_id = service.event_id("submit", feedback_id, idempotency_key)
        return feedback_view(await service.submit(request, event_id))

    @router.post("/feedback/{feedback_id}/status", responses=_STEP_ERRORS)
    async def change_feedback_status(
        feedback_id: EntityIdPath,
        body: ChangeFeedbackStatus,
        idempotency_key: IdempotencyKey = None,
    ) -> FeedbackView:
        """new → reviewed → planned → done | declined, each step with the customer's answer."""
        event_id = service.event_id(f"status-{body.status}", feedback_id, idempotency_key)
        item = await service.change_status(
            feedback_id,
            status=body.status,
            response=body.response,
            by=body.changed_by,
            event_id=event_id,
        )
        return feedback_view(item)

    @router.get("/feedback/{feedback_id}", responses=_UNKNOWN)
    async def get_feedback(feedback_id: EntityIdPath) -> FeedbackView:
        return feedback_view(await service.item(feedback_id))

    @router.get("/feedback")
    async def list_feedback(
        status: StatusQuery = None, area: AreaQuery = None, limit: Limit = 50
    ) -> FeedbackList:
        """Newest first, for the team that acts on it."""
        found = await service.listed(status=status, area=area, limit=limit)
        return FeedbackList(items=[feedback_view(item) for item in found])

    return router


def build_survey_plan_router(service: SurveyPlanService) -> APIRouter:
    router = APIRouter(dependencies=[_staff], tags=["surveys"])

    @router.get(
        "/customers/{customer_id}/survey-requests",
        responses=error_responses({404: "No survey was ever planned for the customer."}),
    )
    async def survey_requests_of_customer(customer_id: CustomerIdPath) -> SurveyPlanView:
        """The customer's survey requests (scheduled, sent, answered, expired, cancelled),
        the next periodic NPS and the response rate per kind."""
        plan = await service.plan(customer_id)
        if plan is None:
            raise NotFound(f"no survey plan for customer {customer_id}")
        return survey_plan_view(plan)

    return router
