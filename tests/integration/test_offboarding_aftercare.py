"""Offboarding to its end on the real wire protocols (issue 9): a case opened by hand over
HTTP, the work queue, the relationship ended by the durable due date, the erasure request
after the retention period, attestations consumed from Kafka, legal holds, the review and
the closure published to Kafka."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from crm_events.contacts import ContactLogged
from crm_events.examples import load_golden
from crm_events.offboarding import (
    LegalHoldPlaced,
    LegalHoldReleased,
    OffboardingCaseClosed,
    OffboardingCaseOpened,
    PersonalDataErased,
    PersonalDataErasureRequested,
    PersonalDataExportDelivered,
    PersonalDataExported,
    PersonalDataExportRequested,
    RelationshipEnded,
)
from crm_offboarding.app import create_app
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.clock import ManualClock
from tests.integration.offboarding_fixtures import (
    NOW,
    ROUND,
    TERMINATE,
    offboarding_settings_fixture,  # noqa: F401  (fixture "offboarding_settings")
    published,
)
from tests.support import AGENT, MANAGER, Kafka, consumed, eventually, serving

pytestmark = pytest.mark.integration
CUSTOMER = "cus-9001"
OPEN = {
    "customer_id": CUSTOMER,
    "category": "law_and_regulation",
    "reasons": ["new data-residency rule for the customer's region"],
    "evidence": ["regulator notice 2026/17"],
    "opened_by": "emp-301",
}
EXIT = {
    "effective_date": "2026-03-10T00:00:00Z",
    "compensation_minor": 0,
    "currency": "EUR",
    "terms": "Orderly exit before the rule applies.",
    "agreed_by": "emp-301",
    "follow_up_until": "2026-03-20T00:00:00Z",
}
REVIEW = {
    "root_causes": ["law_and_regulation"],
    "preventable": False,
    "late_signals": [],
    "changes": ["track regulatory calendars per region"],
    "summary": "The rule left no room; the exit was orderly.",
    "reviewed_by": "emp-301",
}


def unstamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(name="aftercare")
async def aftercare_fixture(
    offboarding_settings: OffboardingSettings,
) -> AsyncIterator[tuple[Any, ManualClock]]:
    clock = ManualClock(NOW)
    settings = offboarding_settings.model_copy(update={"disposal_retention_s": 5 * 86_400})
    async with serving(create_app(settings, clock=clock)) as client:
        yield client, clock


async def state_of(client: Any, case_id: str) -> str:
    response = await client.get(f"/cases/{case_id}", headers=AGENT)
    assert response.status_code == 200, response.text
    return str(response.json()["state"])


async def reach(client: Any, case_id: str, state: str) -> None:
    assert await eventually(lambda: state_of(client, case_id), state.__eq__) == state


async def exited_by_hand(client: Any) -> str:
    opened = await client.post("/cases", json=OPEN, headers=MANAGER)
    assert opened.status_code == 201, opened.text
    url = f"/cases/{opened.json()['case_id']}"
    for path, body in (("strategy", TERMINATE), ("negotiation-rounds", ROUND), ("exit", EXIT)):
        answer = await client.post(f"{url}/{path}", json=body, headers=MANAGER)
        assert answer.status_code in (200, 201), answer.text
    return str(opened.json()["case_id"])


def attestation(case_id: str, service: str) -> bytes:
    golden = load_golden(PersonalDataErased)
    data = {**golden.data, "case_id": case_id, "customer_id": CUSTOMER, "service": service}
    update = {"id": f"erased-{service}", "subject": CUSTOMER, "data": data}
    return golden.model_copy(update=update).to_bytes()


async def test_a_manual_case_is_in_the_queue_with_its_category_owner_and_next_action(
    aftercare: tuple[Any, ManualClock], kafka: Kafka, ns: str
) -> None:
    client, _ = aftercare
    opened = await client.post("/cases", json=OPEN, headers=MANAGER)
    by_agent = await client.post("/cases", json=OPEN, headers=AGENT)
    bad = await client.post("/cases", json={**OPEN, "category": "weather"}, headers=MANAGER)
    queue = await client.get(
        "/cases", params={"category": "law_and_regulation", "owner": "emp-301"}, headers=AGENT
    )
    other = await client.get("/cases", params={"category": "market_competition"}, headers=AGENT)
    [[event]] = await published(kafka, ns, OffboardingCaseOpened)

    assert opened.status_code == 201, opened.text
    assert (by_agent.status_code, bad.status_code) == (403, 422)
    [item] = queue.json()["items"]
    assert item["case_id"] == opened.json()["case_id"]
    assert item["next_action"].startswith("choose a strategy")
    assert (item["age_days"], item["overdue"]) == (0, False)
    assert other.json()["items"] == []
    assert event.data["owner_id"] == "emp-301"
    assert event.data["category"] == "law_and_regulation"


async def test_from_exit_to_closure_through_the_clock_and_the_attestations(
    aftercare: tuple[Any, ManualClock], kafka: Kafka, ns: str
) -> None:
    client, clock = aftercare
    case_id = await exited_by_hand(client)

    clock.set(unstamp("2026-03-10T00:00:00Z"))
    await reach(client, case_id, "relationship_ended")
    clock.set(unstamp("2026-03-15T00:00:00Z"))  # end + 5 days of retention
    [[ended], [request]] = await published(
        kafka, ns, RelationshipEnded, PersonalDataErasureRequested
    )
    for service in ("contacts", "feedback", "loyalty", "insights"):  # DISPOSAL_SERVICES
        await kafka.send(
            ns + PersonalDataErased.topic(), attestation(case_id, service), key=CUSTOMER.encode()
        )
    await kafka.send(
        ns + PersonalDataErased.topic(), attestation(case_id, "contacts"), key=CUSTOMER.encode()
    )
    clock.set(unstamp("2026-03-20T00:00:00Z"))
    await reach(client, case_id, "review")
    reviewed = await client.post(f"/cases/{case_id}/review", json=REVIEW, headers=MANAGER)
    [[closed]] = await published(kafka, ns, OffboardingCaseClosed)
    case = (await client.get(f"/cases/{case_id}", headers=AGENT)).json()
    duplicates = await eventually(
        lambda: consumed(client, "duplicate", PersonalDataErased.topic()), lambda n: n >= 1
    )

    assert ended.data["ended_at"] == "2026-03-10T00:00:00Z"
    everyone = ["contacts", "feedback", "loyalty", "offboarding", "insights"]
    assert request.data["services"] == everyone
    assert reviewed.status_code == 200, reviewed.text
    assert case["state"] == "closed"
    assert sorted(a["service"] for a in case["disposal"]["attestations"]) == sorted(everyone)
    assert case["disposal"]["missing"] == []
    assert case["exit"]["terms"] == "[erased]"
    assert closed.data["root_causes"] == ["law_and_regulation"]
    assert duplicates >= 1


async def test_a_legal_hold_blocks_the_erasure_until_released(
    aftercare: tuple[Any, ManualClock], kafka: Kafka, ns: str
) -> None:
    client, clock = aftercare
    case_id = await exited_by_hand(client)
    hold = {"hold_id": "hold-1", "reason": "pending litigation", "placed_by": "emp-legal"}
    placed = await client.post(f"/cases/{case_id}/holds", json=hold, headers=MANAGER)
    clock.set(unstamp("2026-03-10T00:00:00Z"))
    await reach(client, case_id, "relationship_ended")

    clock.set(unstamp("2026-04-01T00:00:00Z"))  # well past the retention period
    queue = await client.get("/cases", params={"state": "relationship_ended"}, headers=AGENT)
    held = (await client.get(f"/cases/{case_id}", headers=AGENT)).json()
    release = {"hold_id": "hold-1", "released_by": "emp-legal"}
    released = await client.post(f"/cases/{case_id}/hold-releases", json=release, headers=MANAGER)
    [[placed_event], [released_event], [request]] = await published(
        kafka, ns, LegalHoldPlaced, LegalHoldReleased, PersonalDataErasureRequested
    )

    assert placed.status_code == 201, placed.text
    assert held["on_hold"] is True
    assert held["disposal"] is None
    assert "legal hold" in queue.json()["items"][0]["next_action"]
    assert released.status_code == 200, released.text
    assert placed_event.data["reason"] == "pending litigation"
    assert released_event.data["released_by"] == "emp-legal"
    assert unstamp(request.data["requested_at"]) >= unstamp("2026-04-01T00:00:00Z")
    assert unstamp(request.data["attest_by"]) - unstamp(request.data["requested_at"]) == timedelta(
        days=7
    )


async def test_assessment_and_a_held_communication_reach_kafka_for_the_timeline(
    aftercare: tuple[Any, ManualClock], kafka: Kafka, ns: str
) -> None:
    client, clock = aftercare
    case_id = (await client.post("/cases", json=OPEN, headers=MANAGER)).json()["case_id"]
    assessment = {
        "customer_value_minor": 500_000,
        "currency": "EUR",
        "contract_obligations": ["data return on exit"],
        "reasons": ["rule leaves no room"],
        "recommended_strategy": "terminate",
        "assessed_by": "emp-301",
    }
    plan = {
        "goal": "explain the regulatory exit",
        "audience": "customer's legal counsel",
        "channel": "meeting",
        "scheduled_at": "2026-03-02T10:00:00Z",
        "planned_by": "emp-301",
    }
    assessed = await client.post(f"/cases/{case_id}/assessment", json=assessment, headers=MANAGER)
    planned = await client.post(f"/cases/{case_id}/communications", json=plan, headers=AGENT)
    clock.set(unstamp("2026-03-02T11:00:00Z"))
    overdue = await eventually(
        lambda: client.get("/cases", params={"state": "assessment"}, headers=AGENT),
        lambda r: r.json()["items"][0]["overdue"],
    )
    held = await client.post(
        f"/cases/{case_id}/communications-held",
        json={"number": 1, "outcome": "understood, asks for data return", "held_by": "emp-301"},
        headers=AGENT,
    )
    [[logged]] = await published(kafka, ns, ContactLogged)

    assert assessed.status_code == 200, assessed.text
    assert planned.status_code == 201, planned.text
    assert overdue.json()["items"][0]["next_action"].startswith("hold the overdue communication")
    assert held.status_code == 200, held.text
    assert held.json()["communications"][0]["held_by"] == "emp-301"
    assert (logged.subject, logged.data["channel"]) == (CUSTOMER, "meeting")


def section_record(case_id: str, export_id: str, service: str) -> bytes:
    golden = load_golden(PersonalDataExported)
    data = {
        **golden.data,
        "case_id": case_id,
        "export_id": export_id,
        "customer_id": CUSTOMER,
        "service": service,
        "section": json.dumps({"from": service}),
    }
    update = {"id": f"section-{service}", "subject": CUSTOMER, "data": data}
    return golden.model_copy(update=update).to_bytes()


async def test_an_export_bundle_holds_every_services_section_once_delivered(
    aftercare: tuple[Any, ManualClock], kafka: Kafka, ns: str
) -> None:
    client, _ = aftercare
    case_id = (await client.post("/cases", json=OPEN, headers=MANAGER)).json()["case_id"]
    requested = await client.post(
        f"/cases/{case_id}/exports", json={"requested_by": "emp-301"}, headers=MANAGER
    )
    export_id = requested.json()["exports"][0]["export_id"]
    early = await client.get(f"/cases/{case_id}/exports/{export_id}", headers=MANAGER)
    for service in ("contacts", "feedback", "loyalty"):
        record = section_record(case_id, export_id, service)
        await kafka.send(ns + PersonalDataExported.topic(), record, key=CUSTOMER.encode())
    [[request], [delivered]] = await published(
        kafka, ns, PersonalDataExportRequested, PersonalDataExportDelivered
    )
    bundle = await client.get(f"/cases/{case_id}/exports/{export_id}", headers=MANAGER)
    by_agent = await client.get(f"/cases/{case_id}/exports/{export_id}", headers=AGENT)

    assert requested.status_code == 201, requested.text
    assert early.status_code == 409
    assert request.data["export_id"] == delivered.data["export_id"] == export_id
    assert bundle.status_code == 200, bundle.text
    sections = bundle.json()["sections"]
    assert sorted(sections) == ["contacts", "feedback", "loyalty", "offboarding"]
    assert sections["feedback"]["data"] == {"from": "feedback"}
    assert sections["offboarding"]["data"]["risks"]  # the case itself
    assert by_agent.status_code == 403
