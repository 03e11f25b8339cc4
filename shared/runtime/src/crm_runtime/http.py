"""The HTTP contract every service shares, so OpenAPI tells what the API really does.

- Path ids are validated by the same types the event contracts use (pattern and length),
  so a malformed id is a 422 with a reason before any service code runs — never a 500.
- Every error body is ``{"detail": "<reason>"}`` (a string, also for request validation,
  which adds the offending fields in ``errors``); 409s may add fields such as ``allowed``.
- Every operation documents every status it can answer: 401/403 from its API-key
  dependency, 400 for a body that is not JSON, 422 when it takes input, 503 while the
  database is down, and the 404/409 the service declares with ``error_responses``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from crm_events.common import CustomerId, EmployeeId, EntityId
from crm_runtime.errors import DomainError
from crm_runtime.settings import Role

CustomerIdPath = Annotated[CustomerId, Path(description="Company-wide customer id.")]
EmployeeIdPath = Annotated[EmployeeId, Path(description="Employee id from HR.")]
EntityIdPath = Annotated[
    EntityId, Path(description="Id of the entity (complaint, survey, case, ...).")
]


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: body/path/query/header, then the field.")
    msg: str = Field(description="What is wrong with it.")
    type: str = Field(description="Machine-readable error type (pydantic's).")


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer. Extra fields carry details (e.g. ``allowed`` actions on 409)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="Why the request was refused, in words.")
    errors: list[FieldError] | None = Field(
        None, description="Request validation (422) only: each invalid field."
    )


STANDARD = {
    400: "The request body is not well-formed JSON.",
    401: "Missing or unknown bearer API key.",
    403: "The API key's role may not do this.",
    404: "Not found.",
    409: "Conflicts with the current state or with a concurrent request.",
    422: "Invalid request (fields, path ids, or a rule of the domain).",
    503: "The database is unavailable; retry after the Retry-After delay.",
}


def error_responses(declared: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with its description and ``ErrorBody``."""
    return {code: {"model": ErrorBody, "description": text} for code, text in declared.items()}


def document_errors(routes: Iterable[Any]) -> None:
    """Add the statuses every service operation can answer (before the router is included)."""
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        statuses = {503: STANDARD[503]}
        roles = _required_roles(route.dependant)
        if roles is not None:
            statuses[401] = STANDARD[401]
            if roles != frozenset(Role):
                allowed = ", ".join(sorted(r.value for r in roles))
                statuses[403] = f"{STANDARD[403]} Allowed roles: {allowed}."
        if route.body_field:
            statuses[400] = STANDARD[400]
        if route.dependant.path_params or route.dependant.query_params or route.body_field:
            statuses[422] = STANDARD[422]
        # Fresh dicts: several routes may share one ``responses=`` mapping.
        declared = {
            code: {"model": ErrorBody, **response} if int(code) >= 400 else dict(response)
            for code, response in route.responses.items()
        }
        route.responses = {**error_responses(statuses), **declared}


def _required_roles(dependant: Dependant) -> frozenset[Role] | None:
    roles: frozenset[Role] | None = getattr(dependant.call, "roles", None)
    if roles is not None:
        return roles
    for sub in dependant.dependencies:
        found = _required_roles(sub)
        if found is not None:
            return found
    return None


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    """422 with a readable ``detail`` string; the input itself is never echoed back."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(loc=list(e.get("loc", ())), msg=str(e.get("msg", "")), type=str(e["type"]))
        for e in exc.errors()
    ]
    reasons = "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors[:5])
    more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
    body = ErrorBody(detail=f"invalid request: {reasons}{more}", errors=errors)
    return JSONResponse(body.model_dump(mode="json"), status_code=422)


async def domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return JSONResponse({**exc.details, "detail": exc.reason}, status_code=exc.http_status)


async def unavailable(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": f"database unavailable ({type(exc).__name__}); retry later"},
        status_code=503,
        headers={"Retry-After": "2"},
    )
