"""HTTP API of the customer health score over time: the score's history (one point per
change, with the contribution that moved it) and the versioned contribution weights."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from crm_events.bounds import Timestamp
from crm_loyalty import codec, programme_codec
from crm_loyalty.domain import HealthPoint
from crm_loyalty.service import LoyaltyService
from crm_loyalty.weights import HealthWeights, Learning, Weights, WeightsBody
from crm_runtime.errors import DomainError
from crm_runtime.http import CustomerIdPath, error_responses
from crm_runtime.security import Principal, require
from crm_runtime.settings import Role

_staff = Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))
_manager = require(Role.MANAGER)
_UNKNOWN = error_responses({404: "No loyalty account for this customer."})
_PUT_ERRORS = error_responses({409: "The weights are at another version than expected."})


class HealthPointView(BaseModel):
    at: datetime
    score: int
    previous_score: int
    code: str = Field(description="Reason code of the contribution that moved the score.")
    reason: str
    delta: int = Field(description="The contribution's delta (the score is clamped 0-100).")
    weights_version: int
    cause_id: str = Field(description="Event (or timer) that caused the change.")


class HealthHistory(BaseModel):
    customer_id: str
    items: list[HealthPointView] = Field(description="Newest first.")
    truncated: bool = Field(description="More points exist: narrow `to` to the oldest `at`.")


class PutWeights(WeightsBody):
    expected_version: Annotated[int, Field(ge=1)] | None = None


class WeightsView(BaseModel):
    version: int
    created_at: datetime
    created_by: str
    weights: dict[str, Any]
    learning: Learning | None = Field(
        None, description="Set when a lessons-learned review made this version: why."
    )


class WeightsPage(BaseModel):
    items: list[WeightsView]


def build_health_router(service: LoyaltyService, weights: Weights) -> APIRouter:
    router = APIRouter(tags=["customer health"], dependencies=[_staff])

    @router.get("/accounts/{customer_id}/health/history", responses=_UNKNOWN)
    async def get_history(
        customer_id: CustomerIdPath,
        since: Annotated[Timestamp | None, Query(alias="from")] = None,
        until: Annotated[Timestamp | None, Query(alias="to", description="Exclusive.")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> HealthHistory:
        until = until or service.now() + timedelta(seconds=1)
        since = since or until - timedelta(days=3660)
        if since >= until:
            raise DomainError("from must be before to")
        await service.account(customer_id)
        points = await codec.health_history(
            service.accounts.backend, customer_id, since=since, until=until, limit=limit + 1
        )
        return HealthHistory(
            customer_id=customer_id,
            items=[_point(p) for p in points[:limit]],
            truncated=len(points) > limit,
        )

    @router.get("/health/weights", responses=error_responses({404: "No such version."}))
    async def get_weights(
        version: Annotated[
            int | None, Query(ge=1, le=1_000_000, description="A version (default: current).")
        ] = None,
    ) -> WeightsView:
        return _weights(await weights.version(version) if version else await weights.current())

    @router.get("/health/weights/versions")
    async def get_weight_versions(
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> WeightsPage:
        stored = await programme_codec.weights_versions(weights.store.backend, limit=limit)
        return WeightsPage(items=[_weights(w) for w in stored or [await weights.current()]])

    @router.put("/health/weights", responses=_PUT_ERRORS)
    async def put_weights(
        body: PutWeights, principal: Annotated[Principal, Depends(_manager)]
    ) -> WeightsView:
        values = WeightsBody.model_validate(body.model_dump(exclude={"expected_version"}))
        by = f"{principal.role.value}:{principal.key_id}"
        return _weights(await weights.put(values, by=by, expected=body.expected_version))

    return router


def _point(point: HealthPoint) -> HealthPointView:
    return HealthPointView.model_validate(point, from_attributes=True)


def _weights(current: HealthWeights) -> WeightsView:
    values = current.model_dump(
        mode="json", exclude={"version", "created_at", "created_by", "learning"}
    )
    return WeightsView(
        version=current.version,
        created_at=current.created_at,
        created_by=current.created_by,
        weights=values,
        learning=current.learning,
    )
