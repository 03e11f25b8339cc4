"""Each service publishes contracts that tell the truth (issue 6, finding 6).

AsyncAPI: per service, ``receive`` for every consumed event, ``send`` for every published
one and for the DLQ of every consumed topic — from the real wiring, committed under
``services/<name>/asyncapi.json`` and served unchanged at ``/asyncapi.json``.
OpenAPI: the real error body, every status an operation can answer, ``/metrics`` as text.
Path ids are validated before service code runs (finding 2): 422 with a reason, never 500.
No servers are needed: the apps are composed without I/O and only answer before any
database access.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from crm_contacts.settings import ContactsSettings
from crm_feedback.settings import FeedbackSettings
from crm_insights.settings import InsightsSettings
from crm_loyalty.settings import LoyaltySettings
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.app import ServiceRuntime
from crm_runtime.contracts import SERVICES, check, committed_path, service_document
from crm_runtime.settings import ServiceSettings
from tests.support import API_KEYS, MANAGER, json_refs

pytestmark = pytest.mark.unit


SETTINGS: dict[str, type[ServiceSettings]] = {
    "contacts": ContactsSettings,
    "feedback": FeedbackSettings,
    "loyalty": LoyaltySettings,
    "offboarding": OffboardingSettings,
    "insights": InsightsSettings,
}


def _app(service: str) -> FastAPI:
    create_app = importlib.import_module(f"crm_{service}.app").create_app
    app: FastAPI = create_app(SETTINGS[service](api_keys=API_KEYS))
    return app


def _runtime(app: FastAPI) -> ServiceRuntime:
    runtime: ServiceRuntime = app.state.runtime
    return runtime


def test_committed_service_documents_are_current() -> None:
    assert check() == [], "run `python -m crm_runtime.contracts` and commit the result"


@pytest.mark.parametrize("service", SERVICES)
def test_asyncapi_receives_what_the_service_consumes_and_sends_what_it_publishes(
    service: str,
) -> None:
    runtime = _runtime(_app(service))
    operations = service_document(service)["operations"]
    receives = {k for k, v in operations.items() if v["action"] == "receive"}
    sends = {k for k, v in operations.items() if v["action"] == "send"}
    consumed = {m.topic() for m in runtime.consumed}
    assert consumed, "every service consumes something"
    assert receives == {f"{topic}.receive" for topic in consumed}
    published = {f"{m.topic()}.send" for m in runtime.published}
    dead_letters = {f"{topic}.dlq.send" for topic in consumed}
    assert sends == published | dead_letters


@pytest.mark.parametrize("service", SERVICES)
def test_dlq_channels_carry_the_reason_headers(service: str) -> None:
    document = service_document(service)
    dlqs = [name for name in document["channels"] if name.endswith(".dlq")]
    assert dlqs
    message = document["components"]["messages"]["DeadLetteredRecord"]
    assert {"dlq-reason", "dlq-kind", "dlq-original-topic"} <= set(message["headers"]["required"])
    for dlq in dlqs:
        assert document["channels"][dlq]["address"] == dlq
        assert document["operations"][f"{dlq}.send"]["channel"] == {"$ref": f"#/channels/{dlq}"}


@pytest.mark.parametrize("service", SERVICES)
def test_asyncapi_references_resolve(service: str) -> None:
    document = service_document(service)
    assert document["asyncapi"] == "3.0.0"
    for ref in set(json_refs(document)):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]


@pytest.mark.parametrize("service", SERVICES)
async def test_served_asyncapi_is_the_committed_one(service: str) -> None:
    async with _client(_app(service)) as client:
        served = (await client.get("/asyncapi.json")).json()
    assert served == json.loads(committed_path(service).read_text())


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def _operations(app: FastAPI) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in app.openapi()["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


@pytest.mark.parametrize("service", SERVICES)
def test_openapi_documents_every_status_with_the_real_error_body(service: str) -> None:
    app = _app(service)
    schemas = app.openapi()["components"]["schemas"]
    assert schemas["ErrorBody"]["properties"]["detail"]["type"] == "string"
    assert "HTTPValidationError" not in schemas
    for path, _, operation in _operations(app):
        responses = operation["responses"]
        if operation.get("security"):
            assert {"401", "422", "503"} <= set(responses), path
        for code, response in responses.items():
            if int(code) >= 400 and path != "/readyz":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/ErrorBody", (path, code)


def test_403_is_documented_only_where_a_role_is_refused() -> None:
    offboarding = {(p, m): o for p, m, o in _operations(_app("offboarding"))}
    assert "403" in offboarding[("/cases/{case_id}/exit", "post")]["responses"]
    assert "403" not in offboarding[("/cases/{case_id}", "get")]["responses"]
    contacts = [o for _, _, o in _operations(_app("contacts"))]
    assert all("403" not in o["responses"] for o in contacts)


@pytest.mark.parametrize("service", SERVICES)
def test_metrics_are_documented_as_prometheus_text(service: str) -> None:
    metrics = _app(service).openapi()["paths"]["/metrics"]["get"]["responses"]["200"]
    assert list(metrics["content"]) == ["text/plain"]


def _id_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    for path, method, _ in _operations(app):
        if "{" in path:
            yield method, path


@pytest.mark.parametrize("service", SERVICES)
async def test_a_malformed_path_id_is_a_422_with_a_reason_on_every_route(service: str) -> None:
    app = _app(service)
    routes = list(_id_routes(app))
    assert routes
    async with _client(app) as client:
        for method, path in routes:
            url = path.split("{")[0] + "bad%20id" + path.split("}")[1]
            response = await client.request(method, url, headers=MANAGER, json={})
            assert response.status_code == 422, (method, url, response.text)
            assert "path." in response.json()["detail"], (method, url)
