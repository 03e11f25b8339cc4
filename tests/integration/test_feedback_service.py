"""Feedback service in-process on the real wire protocols, with a manual clock for the SLAs."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from crm_events import CloudEvent, decode
from crm_events.feedback import (
    ComplaintAcknowledged,
    ComplaintEscalated,
    ComplaintRaised,
    ComplaintResolved,
    ComplaintSlaBreached,
    ComplaintSlaWarning,
    SurveyAnswered,
)
from crm_feedback.settings import FeedbackSettings
from tests.integration.feedback_fixtures import (
    T0,
    external_complaint,
    external_survey,
    feedback_fixture,  # noqa: F401  (fixture "feedback")
    feedback_settings_fixture,  # noqa: F401  (fixture "feedback_settings")
)
from tests.support import AGENT, MANAGER, SYSTEM, Kafka, consumed, eventually

pytestmark = pytest.mark.integration
HOUR = timedelta(hours=1)
COMPLAINT = {
    "complaint_id": "cmp-100",
    "customer_id": "cus-100",
    "severity": "high",
    "category": "billing",
    "channel": "email",
    "description": "Invoice charged twice.",
    "owner_id": "emp-1",
}


async def get_complaint(client: Any, complaint_id: str) -> dict[str, Any]:
    response = await client.get(f"/complaints/{complaint_id}", headers=AGENT)
    return dict(response.json()) if response.status_code == 200 else {}


async def listed(client: Any, path: str) -> list[str]:
    response = await client.get(path, headers=AGENT)
    assert response.status_code == 200, response.text
    return [item.get("complaint_id") or item["survey_id"] for item in response.json()["items"]]


async def move_clock_until(client: Any, hours: float, accept: Any) -> dict[str, Any]:
    client.clock.set(T0 + timedelta(hours=hours))
    complaint = await eventually(lambda: get_complaint(client, "cmp-100"), accept)
    assert accept(complaint), complaint
    return complaint


async def read_all(kafka: Kafka, ns: str, expected: dict[type[Any], int]) -> dict[Any, list[Any]]:
    """Read several topics at once (each read joins its own consumer group)."""
    reads = [kafka.read(ns + model.topic(), expected=n) for model, n in expected.items()]
    results = await asyncio.gather(*reads)
    return {
        model: [decode(r.value) for r in records]
        for model, records in zip(expected, results, strict=True)
    }


async def test_complaint_lifecycle_with_sla_warning_breach_and_escalation(
    feedback: Any, kafka: Kafka, ns: str, mongo: Any, feedback_settings: FeedbackSettings
) -> None:
    raised = await feedback.post(
        "/complaints", json=COMPLAINT, headers={**AGENT, "Idempotency-Key": "k-1"}
    )
    assert raised.status_code == 201, raised.text
    assert raised.json()["next_due_at"] == "2026-03-02T12:12:00Z"

    await move_clock_until(feedback, 3.5, lambda c: c["clocks"]["first_response"]["warned"])
    ack = await feedback.post(
        "/complaints/cmp-100/acknowledge", json={"acknowledged_by": "emp-1"}, headers=AGENT
    )
    assert ack.status_code == 200, ack.text
    assert ack.json()["first_response_within_sla"] is True
    await move_clock_until(feedback, 20, lambda c: c["clocks"]["resolution"]["warned"])
    escalated = await move_clock_until(feedback, 25, lambda c: c["escalation_level"] == 1)
    assert escalated["owner_id"] == "team-lead"
    assert escalated["next_due_at"] is None
    feedback.clock.set(T0 + 40 * HOUR)  # later sweeps find nothing more to do
    resolved = await feedback.post(
        "/complaints/cmp-100/resolve",
        json={"resolved_by": "team-lead", "resolution": "Refunded."},
        headers=MANAGER,
    )
    assert resolved.status_code == 200, resolved.text

    complaints = mongo[feedback_settings.mongo_database]["complaints"]
    pending = {"outbox_pending": {"$exists": True}}
    assert await eventually(lambda: complaints.count_documents(pending), lambda n: n == 0) == 0
    check_stored_document(await complaints.find_one({"_id": "cmp-100"}))
    events = await read_all(
        kafka,
        ns,
        {
            ComplaintRaised: 1,
            ComplaintAcknowledged: 1,
            ComplaintSlaWarning: 2,
            ComplaintSlaBreached: 1,
            ComplaintEscalated: 1,
            ComplaintResolved: 1,
        },
    )
    assert {model: len(found) for model, found in events.items()} == {
        ComplaintRaised: 1,
        ComplaintAcknowledged: 1,
        ComplaintSlaWarning: 2,
        ComplaintSlaBreached: 1,
        ComplaintEscalated: 1,
        ComplaintResolved: 1,
    }
    check_lifecycle_events(events)
    # Our own ComplaintRaised came back through the consumer and changed nothing.
    assert await eventually(lambda: consumed(feedback, "duplicate"), lambda v: v >= 1) == 1
    assert (await get_complaint(feedback, "cmp-100"))["version"] == 6


def check_stored_document(doc: dict[str, Any]) -> None:
    """Portable subset: every time is a stamp string (nested ones too), never a BSON date."""
    assert doc["raised_at"] == "2026-03-02T09:00:00.000000Z"
    assert doc["acknowledged_at"] == "2026-03-02T12:30:00.000000Z"
    assert doc["resolved_at"] == doc["updated_at"] == "2026-03-04T01:00:00.000000Z"
    assert doc["clocks"]["resolution"]["due_at"] == "2026-03-03T09:00:00.000000Z"
    assert doc["clocks"]["first_response"]["stopped_at"] == doc["acknowledged_at"]
    assert "next_due_at" not in doc  # resolved: nothing left for the sweeper
    # The aggregate store marks every applied event: the raise, acknowledge, resolve and
    # the three sweeps (first-response warning, resolution warning, resolution breach).
    assert len(doc["applied"]) == 6
    assert not any(isinstance(value, datetime) for value in leaves(doc))


def leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    return [value]


def check_lifecycle_events(events: dict[Any, list[CloudEvent]]) -> None:
    [raised] = events[ComplaintRaised]
    assert raised.data["first_response_due_at"] == "2026-03-02T13:00:00Z"
    assert raised.data["resolution_due_at"] == "2026-03-03T09:00:00Z"
    assert raised.subject == "cus-100"
    warnings = {e.data["clock"]: e.data for e in events[ComplaintSlaWarning]}
    assert warnings["first_response"]["remaining_seconds"] == 30 * 60
    assert warnings["resolution"]["remaining_seconds"] == 4 * 3600
    [breach] = events[ComplaintSlaBreached]
    assert breach.data == {
        "complaint_id": "cmp-100",
        "customer_id": "cus-100",
        "clock": "resolution",
        "due_at": "2026-03-03T09:00:00Z",
        "breached_at": "2026-03-03T10:00:00Z",
        "owner_id": "emp-1",
    }
    [escalation] = events[ComplaintEscalated]
    assert escalation.data["level"] == 1
    assert escalation.data["escalated_to"] == "team-lead"
    assert escalation.data["previous_owner_id"] == "emp-1"
    assert escalation.data["reason"] == "resolution SLA breached"
    assert escalation.causationid == breach.id
    [resolved] = events[ComplaintResolved]
    assert resolved.data["within_sla"] is False
    assert resolved.data["severity"] == "high"
    every = [e for found in events.values() for e in found]
    assert {e.correlationid for e in every} == {raised.correlationid}
    assert len({e.id for e in every}) == 7


async def test_complaints_from_other_systems_are_stored_once_and_bad_ones_dead_lettered(
    feedback: Any, kafka: Kafka, ns: str
) -> None:
    topic = ns + ComplaintRaised.topic()
    good = external_complaint("cc-evt-1", "cmp-ext-1")
    await kafka.send(topic, good, key=b"cus-ext")
    await kafka.send(topic, good, key=b"cus-ext")
    await kafka.send(topic, external_complaint("cc-bad-1", "cmp-x", severity="apocalyptic"))
    late = external_complaint("cc-bad-2", "cmp-y", resolution_due_at="2026-03-02T08:45:00Z")
    await kafka.send(topic, late, key=b"cus-ext")
    for complaint_id, customer, owner in [
        ("cmp-h1", "cus-ext", "emp-5"),
        ("cmp-h2", "cus-9", "emp-5"),
    ]:
        body = {
            **COMPLAINT,
            "complaint_id": complaint_id,
            "customer_id": customer,
            "owner_id": owner,
        }
        assert (await feedback.post("/complaints", json=body, headers=SYSTEM)).status_code == 201
    resolve = {"resolved_by": "emp-5", "resolution": "Explained the invoice."}
    assert (
        await feedback.post("/complaints/cmp-h2/resolve", json=resolve, headers=AGENT)
    ).is_success

    dlq = await kafka.read(topic + ".dlq", expected=2)
    # One external duplicate plus our own two raises coming back.
    assert await eventually(lambda: consumed(feedback, "duplicate"), lambda v: v >= 3) == 3

    stored = await get_complaint(feedback, "cmp-ext-1")
    assert stored["owner_id"] == "emp-5"
    assert stored["clocks"]["first_response"]["due_at"] == "2026-03-02T09:30:00Z"
    assert await listed(feedback, "/customers/cus-ext/complaints?status=open") == [
        "cmp-h1",
        "cmp-ext-1",
    ]
    assert await listed(feedback, "/owners/emp-5/complaints?status=open") == ["cmp-h1", "cmp-ext-1"]
    assert len(await listed(feedback, "/owners/emp-5/complaints")) == 3
    reasons = {r.headers["dlq-kind"]: r.headers["dlq-reason"] for r in dlq}
    assert "severity" in reasons["schema"]
    assert "resolution_due_at lies before first_response_due_at" in reasons["rejected"]
    # The external raise, and our own resolution of cmp-h2 scheduling its CSAT request.
    assert await eventually(lambda: consumed(feedback, "applied"), lambda v: v >= 2) == 2


async def test_surveys_over_http_and_from_other_systems(
    feedback: Any, kafka: Kafka, ns: str
) -> None:
    topic = ns + SurveyAnswered.topic()
    answer = {"customer_id": "cus-s", "trigger": "periodic", "csat": 5, "nps": 10}
    headers = {**AGENT, "Idempotency-Key": "survey-1"}
    first = await feedback.post("/surveys", json=answer, headers=headers)
    retry = await feedback.post("/surveys", json=answer, headers=headers)
    external = external_survey("ext-s-1", "srv-ext-1")
    await kafka.send(topic, external, key=b"cus-s")
    await kafka.send(topic, external, key=b"cus-s")
    await kafka.send(topic, external_survey("ext-s-2", "srv-bad", csat=None, nps=None))
    await kafka.send(topic, external_survey("ext-s-3", "srv-ext-1", csat=1), key=b"cus-s")
    other_customer = await feedback.post(
        "/surveys", json={**answer, "customer_id": "cus-o"}, headers=headers
    )

    assert first.status_code == retry.status_code == other_customer.status_code == 201, first.text
    assert first.json()["survey_id"] == retry.json()["survey_id"]
    assert other_customer.json()["survey_id"] != first.json()["survey_id"]  # key per customer
    surveys = await eventually(
        lambda: listed(feedback, "/customers/cus-s/surveys"), lambda items: len(items) >= 2
    )
    assert surveys == [first.json()["survey_id"], "srv-ext-1"]  # newest answer first
    dlq = await kafka.read(topic + ".dlq", expected=2)
    reasons = {r.headers["dlq-kind"]: r.headers["dlq-reason"] for r in dlq}
    assert "needs csat, nps or both" in reasons["schema"]
    # Another score for an answered survey contradicts it: a conflict naming both events.
    assert "ext-s-1" in reasons["conflict"]
    assert "ext-s-3" in reasons["conflict"]
    # Ours were published once each; external ones were not republished.
    records = [decode(r.value) for r in await kafka.read(topic, expected=6)]
    ours = [e for e in records if e.data["survey_id"] == first.json()["survey_id"]]
    assert len(ours) == 1
    assert ours[0].data["csat"] == 5
    # The external answer, and our own two coming back (they reach the customers' survey
    # plans that way: the NPS cadence notes them); the external redelivery is a duplicate.
    assert await eventually(lambda: consumed(feedback, "applied"), lambda v: v >= 3) == 3
    assert await consumed(feedback, "duplicate") == 1


async def test_http_errors_have_clear_reasons(feedback: Any) -> None:
    assert (await feedback.post("/complaints", json=COMPLAINT, headers=SYSTEM)).status_code == 201
    taken = await feedback.post(
        "/complaints", json={**COMPLAINT, "severity": "low"}, headers=SYSTEM
    )
    assert (await get_complaint(feedback, "cmp-100"))["severity"] == "high"  # nothing overwritten
    missing = await feedback.get("/complaints/nope", headers=AGENT)
    ack_missing = await feedback.post(
        "/complaints/nope/acknowledge", json={"acknowledged_by": "emp-1"}, headers=AGENT
    )
    resolve = {"resolved_by": "emp-1", "resolution": "Refunded."}
    await feedback.post("/complaints/cmp-100/resolve", json=resolve, headers=AGENT)
    twice = await feedback.post("/complaints/cmp-100/resolve", json=resolve, headers=AGENT)
    ack_resolved = await feedback.post(
        "/complaints/cmp-100/acknowledge", json={"acknowledged_by": "emp-1"}, headers=AGENT
    )
    invalid = await feedback.post(
        "/complaints", json={**COMPLAINT, "severity": "apocalyptic"}, headers=AGENT
    )
    no_score = await feedback.post("/surveys", json={"customer_id": "cus-1"}, headers=AGENT)
    anonymous = await feedback.get("/complaints/cmp-100")

    assert (taken.status_code, taken.json()["detail"]) == (409, "complaint cmp-100 already exists")
    assert (missing.status_code, missing.json()["detail"]) == (404, "complaint nope not found")
    assert ack_missing.status_code == 404
    assert (twice.status_code, twice.json()["detail"]) == (
        409,
        "complaint cmp-100 is already resolved",
    )
    assert ack_resolved.status_code == 409
    assert "cannot be acknowledged" in ack_resolved.json()["detail"]
    assert invalid.status_code == no_score.status_code == 422
    assert "needs csat, nps or both" in json.dumps(no_score.json())
    assert anonymous.status_code == 401
    asyncapi = (await feedback.get("/asyncapi.json")).json()
    assert asyncapi["operations"]["crm.feedback.complaint-escalated.send"]["action"] == "send"
