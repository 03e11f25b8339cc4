"""Operations endpoints every service serves: liveness, readiness, metrics, AsyncAPI.

Each is documented as it answers: ``/metrics`` is Prometheus text, ``/readyz`` a 503 with
the problems while not ready, ``/asyncapi.json`` this service's own AsyncAPI document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from crm_runtime.http import ErrorBody
from crm_runtime.lag import refresh_lag
from crm_runtime.security import require
from crm_runtime.settings import Role

if TYPE_CHECKING:
    from crm_runtime.app import ServiceRuntime


class Liveness(BaseModel):
    status: str = Field(description="Always 'alive' when the process answers.")


class Readiness(BaseModel):
    status: str = Field(description="'ready' or 'not-ready'.")
    problems: dict[str, str] | None = Field(
        None, description="Not ready only: what is wrong, per component."
    )


METRICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Prometheus text exposition format.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}
ASYNCAPI_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "This service's AsyncAPI 3.0 document (send, receive, DLQ channels).",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def ops_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])
    metrics_guard = [] if runtime.settings.metrics_public else [Depends(require(*Role))]
    metrics_errors = {} if runtime.settings.metrics_public else _unauthorised()

    @router.get("/healthz")
    async def healthz() -> Liveness:
        return Liveness(status="alive")

    @router.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready; see problems."}},
    )
    async def readyz() -> JSONResponse:
        problems = await runtime.readiness()
        runtime.metrics.ready.set(0 if problems else 1)
        if problems:
            return JSONResponse({"status": "not-ready", "problems": problems}, 503)
        return JSONResponse({"status": "ready"})

    @router.get(
        "/metrics",
        dependencies=metrics_guard,
        response_class=PlainTextResponse,
        responses={**METRICS_RESPONSE, **metrics_errors},
    )
    async def metrics() -> Response:
        if runtime.subscriber is not None:
            group = runtime.settings.group_id
            await refresh_lag(runtime.metrics.consumer_lag, runtime.subscriber, group)
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.get("/asyncapi.json", response_class=JSONResponse, responses=ASYNCAPI_RESPONSE)
    async def asyncapi() -> JSONResponse:
        return JSONResponse(runtime.asyncapi())

    return router


def _unauthorised() -> dict[int | str, dict[str, Any]]:
    return {401: {"model": ErrorBody, "description": "Missing or unknown bearer API key."}}
