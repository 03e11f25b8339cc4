"""The runtime's HTTP edge without any I/O: API-key roles and domain errors as JSON."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, Depends

from crm_events.contacts import ContactLogged
from crm_events.examples import load_golden
from crm_runtime.app import ServiceRuntime
from crm_runtime.errors import Conflict, NotFound
from crm_runtime.security import require
from crm_runtime.settings import Role, ServiceSettings

pytestmark = pytest.mark.unit


def app_with(router: APIRouter) -> httpx.AsyncClient:
    settings = ServiceSettings(
        service_name="probe",
        api_keys={"a-key": Role.AGENT, "m-key": Role.MANAGER},
        log_level="WARNING",
    )
    app = ServiceRuntime(settings).build_app(title="probe", routers=[router])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe")


def probe_router() -> APIRouter:
    router = APIRouter()

    @router.post("/cases/{case_id}/exit", dependencies=[Depends(require(Role.MANAGER))])
    async def conclude(case_id: str) -> dict[str, str]:
        if case_id == "missing":
            raise NotFound("case missing not found")
        raise Conflict("cannot conclude-exit from assessment", allowed=["retain", "terminate"])

    return router


@pytest.mark.parametrize(
    ("headers", "status", "detail"),
    [
        ({}, 401, "missing bearer API key (Authorization: Bearer <key>)"),
        ({"Authorization": "Bearer wrong"}, 401, "unknown API key"),
        (
            {"Authorization": "Bearer a-key"},
            403,
            "role 'agent' may not do this; allowed roles: manager",
        ),
    ],
)
async def test_roles_are_enforced_with_reasons(
    headers: dict[str, str], status: int, detail: str
) -> None:
    async with app_with(probe_router()) as client:
        response = await client.post("/cases/c-1/exit", headers=headers)
    assert response.status_code == status
    assert response.json() == {"detail": detail}


async def test_domain_errors_become_json_with_their_details() -> None:
    async with app_with(probe_router()) as client:
        conflict = await client.post("/cases/c-1/exit", headers={"Authorization": "Bearer m-key"})
        missing = await client.post(
            "/cases/missing/exit", headers={"Authorization": "Bearer m-key"}
        )

    assert conflict.status_code == 409
    assert conflict.json() == {
        "detail": "cannot conclude-exit from assessment",
        "allowed": ["retain", "terminate"],
    }
    assert missing.status_code == 404
    assert missing.json() == {"detail": "case missing not found"}


def test_a_timer_event_can_name_its_stored_cause() -> None:
    data = ContactLogged.model_validate(load_golden(ContactLogged).data)
    event = data.to_event(source="/crm/x", correlation_id="journey-1", causation_id="evt-9")
    assert (event.correlationid, event.causationid) == ("journey-1", "evt-9")
