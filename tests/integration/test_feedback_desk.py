"""The service desk on the real wire protocols: business-calendar deadlines, pause over HTTP,
the customer's answer consumed from ``crm.inbound.customer-replied`` resuming the clocks, the
sweeper breaching at the moved deadline, and a dispute reopening the complaint.

Calendar: Mon-Fri 09:00-17:00 Europe/Berlin with Monday 2026-03-09 a holiday; 2026-03-06
is a Friday (CET, UTC+1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_events import decode
from crm_events.feedback import (
    ComplaintPaused,
    ComplaintReopened,
    ComplaintResumed,
    ComplaintSlaBreached,
)
from crm_events.inbound import CustomerReplied
from crm_feedback.app import create_app
from crm_feedback.settings import FeedbackSettings
from crm_runtime.clock import ManualClock
from tests.integration.feedback_fixtures import golden_record
from tests.support import AGENT, Kafka, consumed, eventually, serving

pytestmark = pytest.mark.integration
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
BERLIN_OFFICE = {
    "time_zone": "Europe/Berlin",
    "hours": {day: ["09:00-17:00"] for day in WEEKDAYS},
    "holidays": ["2026-03-09"],
}
FRIDAY_LATE = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # 16:00 in Berlin
COMPLAINT = {
    "complaint_id": "cmp-200",
    "customer_id": "cus-200",
    "severity": "high",
    "category": "billing",
    "channel": "email",
    "description": "Invoice charged twice.",
    "owner_id": "emp-1",
}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture(name="desk")
async def desk_fixture(make_settings: Callable[..., Any]) -> AsyncIterator[Any]:
    settings: FeedbackSettings = make_settings(
        FeedbackSettings,
        sla_calendars={"berlin": BERLIN_OFFICE},
        sla_calendar_by_severity={"high": "berlin"},
    )
    clock = ManualClock(FRIDAY_LATE)
    app = create_app(settings, clock=clock)
    async with serving(app) as client:
        client.clock = clock
        yield client


async def complaint(client: Any, complaint_id: str = "cmp-200") -> dict[str, Any]:
    response = await client.get(f"/complaints/{complaint_id}", headers=AGENT)
    return dict(response.json()) if response.status_code == 200 else {}


def reply(event_id: str, reply_id: str, kind: str, replied_at: datetime, **data: Any) -> bytes:
    fields = {
        "reply_id": reply_id,
        "customer_id": "cus-200",
        "complaint_id": "cmp-200",
        "kind": kind,
        "replied_at": replied_at.isoformat(),
        **data,
    }
    return golden_record(CustomerReplied, event_id, **fields)


async def test_pause_and_the_customers_answer_move_the_business_deadline(
    desk: Any, kafka: Kafka, ns: str
) -> None:
    raised = await desk.post("/complaints", json=COMPLAINT, headers=AGENT)
    assert raised.status_code == 201, raised.text
    # 4 business hours from Friday 16:00 Berlin: 1 h on Friday, Monday is a holiday, so
    # Tuesday 12:00 Berlin (11:00 UTC).
    assert raised.json()["clocks"]["first_response"]["due_at"] == "2026-03-10T11:00:00Z"
    assert raised.json()["calendar"] == "berlin"

    desk.clock.set(at(6, 15, 30))
    paused = await desk.post(
        "/complaints/cmp-200/pause",
        json={"paused_by": "emp-1", "reason": "bank statement"},
        headers={**AGENT, "Idempotency-Key": "pause-1"},
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True
    assert paused.json()["next_due_at"] is None

    # The answer arrives Tuesday 09:30 Berlin: 30 min Friday + 30 min Tuesday were paused.
    desk.clock.set(at(10, 9))
    answer = reply("rep-1", "msg-1", "answer", at(10, 8, 30))
    key = b"cus-200"
    await kafka.send(ns + CustomerReplied.topic(), answer, key=key)
    await kafka.send(ns + CustomerReplied.topic(), answer, key=key)  # redelivered
    retried = reply("rep-1-retry", "msg-1", "answer", at(10, 8, 30))  # same reply, new id
    await kafka.send(ns + CustomerReplied.topic(), retried, key=key)
    resumed = await eventually(lambda: complaint(desk), lambda c: c.get("paused") is False)
    assert resumed["paused_seconds"] == 3600
    assert resumed["clocks"]["first_response"]["due_at"] == "2026-03-10T12:00:00Z"
    assert await eventually(lambda: consumed(desk, "duplicate"), lambda n: n >= 2) >= 2

    desk.clock.set(at(10, 12))
    breached = await eventually(lambda: complaint(desk), lambda c: c["escalation_level"] == 1)
    assert breached["owner_id"] == "team-lead"

    [pause_record] = await kafka.read(ns + ComplaintPaused.topic(), expected=1)
    [resume_record] = await kafka.read(ns + ComplaintResumed.topic(), expected=1)
    [breach_record] = await kafka.read(ns + ComplaintSlaBreached.topic(), expected=1)
    resume = decode(resume_record.value)
    assert decode(pause_record.value).data["reason"] == "bank statement"
    assert resume.data["trigger"] == "customer_reply"
    assert resume.data["paused_seconds"] == 3600
    assert resume.causationid == "rep-1"
    assert decode(breach_record.value).data["due_at"] == "2026-03-10T12:00:00Z"


async def test_a_reply_before_its_complaint_is_parked_then_a_dispute_reopens_it(
    desk: Any, kafka: Kafka, ns: str
) -> None:
    key = b"cus-200"
    early = reply("rep-early", "msg-early", "answer", at(6, 14))
    await kafka.send(ns + CustomerReplied.topic(), early, key=key)
    assert await eventually(lambda: consumed(desk, "parked"), lambda n: n >= 1) == 1

    raised = await desk.post("/complaints", json=COMPLAINT, headers=AGENT)
    assert raised.status_code == 201, raised.text
    resolved = await desk.post(
        "/complaints/cmp-200/resolve",
        json={"resolved_by": "emp-1", "resolution": "Refunded."},
        headers=AGENT,
    )
    assert resolved.status_code == 200, resolved.text

    desk.clock.set(at(11, 8))
    dispute = reply("rep-2", "msg-2", "dispute", at(11, 7, 45), reason="no refund yet")
    await kafka.send(ns + CustomerReplied.topic(), dispute, key=key)
    reopened = await eventually(lambda: complaint(desk), lambda c: c["reopen_count"] == 1)
    assert reopened["status"] == "open"
    # Fresh 24 business hours from Wednesday 08:45 Berlin (before opening): Friday 17:00.
    assert reopened["clocks"]["resolution"]["due_at"] == "2026-03-13T16:00:00Z"
    [record] = await kafka.read(ns + ComplaintReopened.topic(), expected=1)
    assert decode(record.value).data["reason"] == "no refund yet"

    late = await desk.post("/complaints/cmp-200/reopen", json={"reason": "again"}, headers=AGENT)
    assert late.status_code == 409, late.text
    assert "not resolved" in late.json()["detail"]


async def test_the_desk_queries_run_on_the_store(desk: Any) -> None:
    for n, severity in enumerate(["high", "low", "high"]):
        body = {**COMPLAINT, "complaint_id": f"cmp-q{n}", "severity": severity}
        assert (await desk.post("/complaints", json=body, headers=AGENT)).status_code == 201
    pause = {"paused_by": "emp-1", "reason": "photos"}
    assert (await desk.post("/complaints/cmp-q2/pause", json=pause, headers=AGENT)).is_success

    async def ids(path: str) -> list[str]:
        response = await desk.get(path, headers=AGENT)
        assert response.status_code == 200, response.text
        return [item["complaint_id"] for item in response.json()["items"]]

    assert await ids("/complaints?owner_id=emp-1&state=open") == ["cmp-q1", "cmp-q0"]
    assert await ids("/complaints?state=paused") == ["cmp-q2"]
    assert await ids("/complaints?severity=low") == ["cmp-q1"]
    # Friday 16:00 Berlin: cmp-q0's first response is due Tuesday 12:00 Berlin (Monday is
    # a holiday) — 4 business hours away: within 5 business hours, not within 3.
    assert await ids("/desk/near-breach?within_minutes=180") == []
    near = await desk.get("/desk/near-breach?within_minutes=300", headers=AGENT)
    assert [c["complaint_id"] for c in near.json()["items"]] == ["cmp-q0"]
    assert near.json()["items"][0]["business_seconds_left"]["first_response"] == 4 * 3600
    bad = await desk.get("/complaints?state=lost", headers=AGENT)
    assert bad.status_code == 422
