"""Schemathesis against each service's OpenAPI, the way finding 2 was found (issue 6).

The four services run as their own processes on the test stack (real HTTP, Kafka and
MongoDB). For every operation, schemathesis generates valid and invalid requests from the
published OpenAPI document (deterministic: ``derandomize``; bounded: ``MAX_EXAMPLES`` per
operation) and sends them with a manager's API key (the one role every route allows).
Every response must be no 5xx, a documented status, the documented content type, and
valid against the documented schema; any failure fails the test. The totals per service
(requests, operations) are printed at the end of the module (shown with ``-s``).
"""

from __future__ import annotations

import importlib
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crm_contacts.settings import ContactsSettings
from crm_events.examples import load_golden
from crm_events.loyalty import RiskDetected
from crm_feedback.settings import FeedbackSettings
from crm_insights.settings import InsightsSettings
from crm_loyalty.settings import LoyaltySettings
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.settings import ServiceSettings
from tests.processes import ServiceProcess
from tests.stack_fixture import service_kafka_settings
from tests.support import API_KEYS, MANAGER, Kafka, eventually, namespace

pytestmark = pytest.mark.e2e
SERVICES = ("contacts", "feedback", "loyalty", "offboarding", "insights")
MAX_EXAMPLES = 40  # per operation and generation mode (positive, negative)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
SETTINGS: dict[str, type[ServiceSettings]] = {
    "contacts": ContactsSettings,
    "feedback": FeedbackSettings,
    "loyalty": LoyaltySettings,
    "offboarding": OffboardingSettings,
    "insights": InsightsSettings,
}
# Generated from the apps composed in-process (no I/O); a test checks each running process
# serves exactly this document.
OPENAPI = {
    name: importlib.import_module(f"crm_{name}.app").create_app(cls()).openapi()
    for name, cls in SETTINGS.items()
}
SCHEMAS = {name: schemathesis.openapi.from_dict(document) for name, document in OPENAPI.items()}
OPERATIONS = [
    (name, method, path, mode)
    for name, document in OPENAPI.items()
    for path, methods in document["paths"].items()
    for method, operation in methods.items()
    # Only an operation that takes input has invalid input to send.
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE or operation.get("parameters") or "requestBody" in operation
]
REQUESTS: Counter[str] = Counter()
KNOWN = {"customer_id": "cus-fuzz", "complaint_id": "cmp-fuzz", "owner_id": "emp-fuzz"}
CUSTOMER = {"customer_id": "cus-fuzz", "display_name": "Fuzz Customer", "owner_id": "emp-fuzz"}
COMPLAINT = {
    "complaint_id": "cmp-fuzz",
    "customer_id": "cus-fuzz",
    "severity": "high",
    "category": "billing",
    "channel": "email",
    "description": "Invoice charged twice.",
    "owner_id": "emp-fuzz",
}
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _label(value: Any) -> str:
    return str(getattr(value, "value", value))


def _settings(infra: Any, service: str, ns: str) -> dict[str, Any]:
    return {
        "kafka_bootstrap_servers": infra.kafka_bootstrap,
        "mongo_uri": infra.mongo_uri,
        "mongo_database": f"{service}_{ns.strip('.')}",
        "kafka_topic_prefix": ns,
        **service_kafka_settings(),
        "api_keys": json.dumps(API_KEYS),
        "log_level": "WARNING",
    }


@pytest.fixture(scope="module")
async def services(infra: Any) -> AsyncIterator[dict[str, ServiceProcess]]:
    ns = namespace()
    running = {
        name: ServiceProcess(name, f"crm_{name}", _settings(infra, name, ns)) for name in SERVICES
    }
    try:
        for process in running.values():
            await process.start()
        await _seed(running, infra, ns)
        yield running
    finally:
        for process in running.values():
            process.stop()


async def _seed(running: dict[str, ServiceProcess], infra: Any, ns: str) -> None:
    """One customer known everywhere (account, complaint, open case), so that part of the
    generated requests reach existing entities instead of ending in a 404."""
    urls = {name: process.url for name, process in running.items()}
    async with httpx.AsyncClient(headers=MANAGER, timeout=10) as http:
        registered = await http.post(f"{urls['contacts']}/customers", json=CUSTOMER)
        raised = await http.post(f"{urls['feedback']}/complaints", json=COMPLAINT)
        assert (registered.status_code, raised.status_code) == (201, 201), raised.text
        async with Kafka(infra.kafka_bootstrap) as kafka:
            risk = load_golden(RiskDetected)
            data = {**risk.data, "customer_id": KNOWN["customer_id"]}
            event = risk.model_copy(update={"subject": KNOWN["customer_id"], "data": data})
            await kafka.send(
                ns + RiskDetected.topic(), event.to_bytes(), KNOWN["customer_id"].encode()
            )
        cases_url = f"{urls['offboarding']}/customers/{KNOWN['customer_id']}/cases"
        cases = await eventually(lambda: http.get(cases_url), lambda r: bool(r.json()["items"]))
        KNOWN["case_id"] = cases.json()["items"][0]["case_id"]
        account_url = f"{urls['loyalty']}/accounts/{KNOWN['customer_id']}"
        account = await eventually(lambda: http.get(account_url), lambda r: r.status_code == 200)
        assert account.status_code == 200, account.text


@pytest.fixture(scope="module", autouse=True)
def report_totals(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    for name in SERVICES:
        operations = len({(m, p) for service, m, p, _ in OPERATIONS if service == name})
        line = f"schemathesis {name}: {REQUESTS[name]} requests, {operations} operations"
        if reporter is not None:
            reporter.write_line(line)


def test_the_fuzzed_documents_are_the_served_ones(services: dict[str, ServiceProcess]) -> None:
    for name, process in services.items():
        served = httpx.get(f"{process.url}/openapi.json", timeout=10).json()
        assert served == OPENAPI[name], name


@pytest.mark.parametrize(("service", "method", "path", "mode"), OPERATIONS, ids=_label)
def test_operation_answers_as_documented(
    services: dict[str, ServiceProcess], service: str, method: str, path: str, mode: Any
) -> None:
    operation = SCHEMAS[service][path][method]
    url = services[service].url
    known = {name: KNOWN[name] for name in _path_names(path) if name in KNOWN}
    anything = operation.as_strategy(generation_mode=mode)
    existing = operation.as_strategy(generation_mode=mode, path_parameters=known)
    cases = st.one_of(anything, existing) if known else anything

    @FUZZ
    @given(case=cases)
    def exercise(case: Any) -> None:
        REQUESTS[service] += 1
        case.call_and_validate(base_url=url, headers=MANAGER, checks=CHECKS)

    exercise()


def _path_names(path: str) -> list[str]:
    return re.findall(r"{([^}]+)}", path)
