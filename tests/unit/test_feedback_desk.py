"""The service desk's complaint lifecycle on business time, through the real wiring over the
in-memory store: pause and resume (by an agent or the customer's answer), reopen within the
window, escalation chains per severity and clock. Calendar: the default office hours
(Mon-Fri 09:00-17:00 UTC); 2026-03-02 is a Monday."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crm_events import CloudEvent
from crm_events.common import Channel, Severity
from crm_events.feedback import (
    ComplaintPaused,
    ComplaintReopened,
    ComplaintResumed,
    ComplaintSlaBreached,
)
from crm_events.inbound import CustomerReplied
from crm_feedback.domain import Complaint
from crm_feedback.service import NewComplaint
from crm_feedback.settings import FeedbackSettings
from crm_runtime.errors import Conflict, DomainError
from tests.unit.feedback_plugin import Feedback, feedback_unit_app

pytestmark = pytest.mark.unit
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def desk() -> Feedback:
    return feedback_unit_app(FeedbackSettings(service_name="feedback"), MONDAY)


def new(severity: Severity = Severity.HIGH) -> NewComplaint:
    return NewComplaint(
        complaint_id="cmp-1",
        customer_id="cus-1",
        severity=severity,
        category="billing",
        channel=Channel.EMAIL,
        description="charged twice",
        owner_id="emp-1",
    )


def reply(kind: str, event_id: str, replied_at: datetime, **data: object) -> CloudEvent:
    fields = {
        "reply_id": f"msg-{event_id}",
        "customer_id": "cus-1",
        "complaint_id": "cmp-1",
        "kind": kind,
        "channel": Channel.EMAIL,
        "replied_at": replied_at,
        **data,
    }
    payload = CustomerReplied.model_validate(fields)
    return payload.to_event(source="/messaging", event_id=event_id, time=replied_at)


def of_type(desk: Feedback, model: type) -> list[CloudEvent]:
    return [e for e in desk.published() if e.type == model.event_type()]


async def test_a_complaint_raised_at_the_start_of_the_week_has_business_deadlines(
    desk: Feedback,
) -> None:
    complaint = await desk.complaints.raise_complaint(new(), "evt-raise")

    assert complaint.calendar == "office-hours"
    assert complaint.clocks["first_response"].due_at == at(2, 13)
    assert complaint.clocks["resolution"].due_at == at(4, 17)  # 24 business hours
    # 80 % of 24 business hours = 19h12m of business time: Wednesday 12:12.
    assert complaint.clocks["resolution"].warn_at == at(4, 12, 12)


async def test_pause_stops_the_timers_and_resume_moves_every_deadline_by_the_time_paused(
    desk: Feedback,
) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    desk.clock.set(at(2, 10))
    paused = await desk.complaints.pause("cmp-1", reason="invoice copy", by="emp-1", event_id="p1")

    assert paused.paused
    assert paused.next_due_at is None
    desk.clock.set(at(2, 15))  # past the first-response deadline: nothing fires while paused
    await desk.sweep()
    assert of_type(desk, ComplaintSlaBreached) == []

    desk.clock.set(at(3, 11))
    resumed = await desk.complaints.resume("cmp-1", by="emp-1", event_id="r1")

    # Paused Monday 10:00-17:00 and Tuesday 09:00-11:00: nine business hours.
    assert resumed.paused_seconds == 9 * 3600
    assert resumed.clocks["first_response"].due_at == at(3, 14)  # Monday 13:00 + 9 h
    assert resumed.clocks["resolution"].due_at == at(6, 10)  # Wednesday 17:00 + 9 h
    assert resumed.next_due_at == resumed.clocks["first_response"].warn_at
    [pause_event] = of_type(desk, ComplaintPaused)
    [resume_event] = of_type(desk, ComplaintResumed)
    assert pause_event.data["pause_number"] == resume_event.data["pause_number"] == 1
    assert resume_event.data["paused_seconds"] == 9 * 3600
    assert resume_event.data["trigger"] == "agent"
    assert resume_event.data["resolution_due_at"] == "2026-03-06T10:00:00Z"
    assert resume_event.correlationid == pause_event.correlationid == "evt-raise"


async def test_the_moved_deadline_breaches_when_the_calendar_says(desk: Feedback) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    desk.clock.set(at(2, 10))
    await desk.complaints.pause("cmp-1", reason="invoice copy", by="emp-1", event_id="p1")
    desk.clock.set(at(3, 11))
    await desk.complaints.resume("cmp-1", by="emp-1", event_id="r1")

    desk.clock.set(at(3, 14) - timedelta(milliseconds=1))
    await desk.sweep()
    assert of_type(desk, ComplaintSlaBreached) == []
    desk.clock.set(at(3, 14))
    await desk.sweep()
    [breach] = of_type(desk, ComplaintSlaBreached)
    assert breach.data["due_at"] == "2026-03-03T14:00:00Z"


async def test_pause_and_resume_refuse_what_makes_no_sense(desk: Feedback) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    with pytest.raises(Conflict, match="is not paused"):
        await desk.complaints.resume("cmp-1", by="emp-1", event_id="r0")
    await desk.complaints.pause("cmp-1", reason="photos", by="emp-1", event_id="p1")
    with pytest.raises(Conflict, match="already paused"):
        await desk.complaints.pause("cmp-1", reason="again", by="emp-1", event_id="p2")
    await desk.complaints.resolve("cmp-1", by="emp-1", resolution="refund", event_id="res")
    with pytest.raises(Conflict, match="resolved; it cannot be paused"):
        await desk.complaints.pause("cmp-1", reason="late", by="emp-1", event_id="p3")


async def test_a_retried_pause_applies_once(desk: Feedback) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    await desk.complaints.pause("cmp-1", reason="photos", by="emp-1", event_id="p1")
    again = await desk.complaints.pause("cmp-1", reason="photos", by="emp-1", event_id="p1")

    assert again.pause_count == 1
    assert len(of_type(desk, ComplaintPaused)) == 1


async def test_the_customers_answer_resumes_the_clock_at_the_reply(desk: Feedback) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    desk.clock.set(at(2, 10))
    await desk.complaints.pause("cmp-1", reason="photos", by="emp-1", event_id="p1")
    desk.clock.set(at(2, 12))

    assert await desk.deliver(reply("answer", "msg-1", at(2, 11, 30))) == "applied"
    assert await desk.deliver(reply("answer", "msg-1", at(2, 11, 30))) == "duplicate"

    stored = await desk.stored("cmp-1")
    assert stored is not None
    assert not stored.paused
    assert stored.paused_seconds == 90 * 60
    [resumed] = of_type(desk, ComplaintResumed)
    assert resumed.data["trigger"] == "customer_reply"
    assert resumed.data["resumed_at"] == "2026-03-02T11:30:00Z"
    assert resumed.causationid == "msg-1"


async def test_an_answer_to_a_running_complaint_is_noted_and_changes_no_clock(
    desk: Feedback,
) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    before = await desk.stored("cmp-1")

    assert await desk.deliver(reply("answer", "msg-1", at(2, 9, 30))) == "applied"
    assert await desk.deliver(reply("answer", "msg-0", at(2, 9, 10))) == "applied"
    after = await desk.stored("cmp-1")
    assert after is not None
    assert before is not None
    assert after.clocks == before.clocks
    assert after.last_customer_reply_at == at(2, 9, 30)  # the latest reply, whatever order
    assert of_type(desk, ComplaintResumed) == []


async def test_a_reply_about_an_unknown_complaint_waits_and_one_of_another_customer_is_refused(
    desk: Feedback,
) -> None:
    assert await desk.deliver(reply("answer", "msg-1", at(2, 9, 30))) == "parked"
    await desk.complaints.raise_complaint(new(), "evt-raise")
    outcome = await desk.deliver(reply("answer", "msg-2", at(2, 9, 30), customer_id="cus-9"))
    assert outcome.startswith("dlq:rejected: complaint cmp-1 belongs to another customer")


async def test_resolving_while_paused_does_not_count_the_pause(desk: Feedback) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    desk.clock.set(at(2, 10))
    await desk.complaints.pause("cmp-1", reason="photos", by="emp-1", event_id="p1")
    desk.clock.set(at(5, 10))  # Thursday: past the original resolution deadline
    resolved = await desk.complaints.resolve(
        "cmp-1", by="emp-1", resolution="refund", event_id="res"
    )

    assert resolved.within_sla is True
    assert not resolved.paused


async def test_reopen_within_the_window_starts_a_fresh_resolution_clock(desk: Feedback) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    desk.clock.set(at(2, 11))
    await desk.complaints.resolve("cmp-1", by="emp-1", resolution="refund", event_id="res")
    desk.clock.set(at(9, 9))
    reopened = await desk.complaints.reopen(
        "cmp-1", reason="refund never arrived", by="emp-2", event_id="re1"
    )

    assert (reopened.status, reopened.reopen_count) == ("open", 1)
    assert reopened.clocks["resolution"].due_at == at(11, 17)
    assert reopened.clocks["first_response"].stopped
    [event] = of_type(desk, ComplaintReopened)
    assert event.data["reopen_count"] == 1
    assert event.data["previous_resolved_at"] == "2026-03-02T11:00:00Z"
    assert event.data["resolution_due_at"] == "2026-03-11T17:00:00Z"

    desk.clock.set(at(11, 17))
    await desk.sweep()
    [breach] = of_type(desk, ComplaintSlaBreached)
    assert (breach.data["clock"], breach.data["reopen_count"]) == ("resolution", 1)
    desk.clock.set(at(12, 9))
    resolved = await desk.complaints.resolve(
        "cmp-1", by="emp-2", resolution="refund sent", event_id="res2"
    )
    assert resolved.within_sla is False


async def test_a_breach_in_a_fresh_cycle_is_a_new_fact(desk: Feedback) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    desk.clock.set(at(5, 9))
    await desk.sweep()  # both clocks breach in the first cycle
    await desk.complaints.resolve("cmp-1", by="emp-1", resolution="refund", event_id="res")
    await desk.complaints.reopen("cmp-1", reason="still charged", by=None, event_id="re1")
    desk.clock.set(at(9, 17))  # Thursday 09:00 + 24 business hours
    await desk.sweep()

    breaches = of_type(desk, ComplaintSlaBreached)
    keys = [ComplaintSlaBreached.model_validate(e.data).business_identity() for e in breaches]
    assert len(set(keys)) == len({e.id for e in breaches}) == 3


async def test_reopen_after_the_window_or_of_an_open_complaint_is_refused(desk: Feedback) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    with pytest.raises(Conflict, match="not resolved"):
        await desk.complaints.reopen("cmp-1", reason="?", by=None, event_id="re0")
    await desk.complaints.resolve("cmp-1", by="emp-1", resolution="refund", event_id="res")
    desk.clock.set(MONDAY + timedelta(days=15))
    with pytest.raises(DomainError, match="more than 14 days ago"):
        await desk.complaints.reopen("cmp-1", reason="late", by=None, event_id="re1")


async def test_a_dispute_from_the_customer_reopens_a_resolved_complaint(desk: Feedback) -> None:
    await desk.complaints.raise_complaint(new(), "evt-raise")
    await desk.complaints.resolve("cmp-1", by="emp-1", resolution="refund", event_id="res")
    desk.clock.set(at(4, 9))

    outcome = await desk.deliver(reply("dispute", "msg-7", at(4, 8), reason="no refund"))

    assert outcome == "applied"
    stored = await desk.stored("cmp-1")
    assert stored is not None
    assert (stored.status, stored.reopen_count) == ("open", 1)
    [event] = of_type(desk, ComplaintReopened)
    assert (event.data["reason"], event.data.get("reopened_by")) == ("no refund", None)


async def test_escalation_chains_per_severity_and_clock() -> None:
    settings = FeedbackSettings(
        service_name="feedback",
        escalation_chains={
            "high": {"first_response": ["fr-lead"], "resolution": ["res-manager", "res-director"]}
        },
    )
    desk = feedback_unit_app(settings, MONDAY)
    await desk.complaints.raise_complaint(new(), "evt-raise")
    desk.clock.set(at(2, 13))
    await desk.sweep()
    assert (await desk.stored("cmp-1")).owner_id == "fr-lead"  # type: ignore[union-attr]
    desk.clock.set(at(4, 17))
    await desk.sweep()
    assert (await desk.stored("cmp-1")).owner_id == "res-manager"  # type: ignore[union-attr]
    await desk.complaints.resolve("cmp-1", by="res-manager", resolution="x", event_id="res")
    await desk.complaints.reopen("cmp-1", reason="no", by=None, event_id="re1")
    desk.clock.set(at(9, 17))
    await desk.sweep()
    complaint = await desk.stored("cmp-1")
    assert complaint is not None
    assert (complaint.owner_id, complaint.escalation_level) == ("res-director", 3)
    assert complaint.escalations == {"first_response": 1, "resolution": 2}


def numbered(n: int, owner: str, severity: Severity = Severity.HIGH) -> NewComplaint:
    return replace(new(severity), complaint_id=f"cmp-{n}", owner_id=owner)


async def test_the_desk_queue_filters_by_owner_severity_and_state_with_business_time_left(
    desk: Feedback,
) -> None:
    service = desk.complaints
    await service.raise_complaint(numbered(1, "emp-1"), "r1")
    desk.clock.advance(HOUR)
    await service.raise_complaint(numbered(2, "emp-1", Severity.LOW), "r2")
    await service.raise_complaint(numbered(3, "emp-2"), "r3")
    await service.pause("cmp-3", reason="photos", by="emp-2", event_id="p3")
    desk.clock.set(at(2, 16))  # Monday 16:00: cmp-1's first response (13:00) is overdue

    def ids(found: list[Complaint]) -> list[str]:
        return [c.complaint_id for c in found]

    queue = await service.desk_queue(owner_id="emp-1", severity=None, state=None, limit=10)
    assert ids(queue) == ["cmp-2", "cmp-1"]
    assert ids(await service.desk_queue(owner_id=None, severity="low", state=None, limit=10)) == [
        "cmp-2"
    ]
    paused = await service.desk_queue(owner_id=None, severity=None, state="paused", limit=10)
    assert ids(paused) == ["cmp-3"]
    # Raised and paused at Monday 10:00: its 4 business hours stay frozen.
    assert service.business_time_left(paused[0])["first_response"] == 4 * 3600
    # Not swept yet: three business hours overdue, shown as negative time left.
    assert service.business_time_left(queue[1])["first_response"] == -3 * 3600
    # 24 business hours from Monday 10:00 (low: first response): Thursday 10:00.
    assert service.business_time_left(queue[0])["first_response"] == 18 * 3600


async def test_near_breach_lists_running_complaints_due_within_the_window_soonest_first(
    desk: Feedback,
) -> None:
    service = desk.complaints
    await service.raise_complaint(numbered(1, "emp-1"), "r1")  # first response Mon 13:00
    desk.clock.set(at(2, 10))
    await service.raise_complaint(numbered(2, "emp-1"), "r2")  # first response Mon 14:00
    await service.raise_complaint(numbered(3, "emp-1", Severity.LOW), "r3")  # Thu 10:00
    await service.raise_complaint(numbered(4, "emp-1"), "r4")
    await service.pause("cmp-4", reason="photos", by="emp-1", event_id="p4")
    desk.clock.set(at(2, 12, 30))

    near = await service.near_breach(within=2 * HOUR, limit=10)

    assert [c.complaint_id for c in near] == ["cmp-1", "cmp-2"]
    # A page holds the most urgent first, whatever order they were raised in.
    assert [c.complaint_id for c in await service.near_breach(within=2 * HOUR, limit=1)] == [
        "cmp-1"
    ]
    for n in (1, 2, 3):
        await service.resolve(f"cmp-{n}", by="emp-1", resolution="done", event_id=f"res{n}")
    # Friday 16:00: due Monday 12:00, three days away, yet 4 business hours: near breach
    # within 5 business hours, not within 3.
    desk.clock.set(at(6, 16))
    await service.raise_complaint(numbered(5, "emp-1"), "r5")
    friday = await service.near_breach(within=5 * HOUR, limit=10)
    assert [c.complaint_id for c in friday] == ["cmp-5"]
    assert await service.near_breach(within=3 * HOUR, limit=10) == []
    overdue = await service.desk_queue(owner_id=None, severity=None, state="overdue", limit=10)
    assert overdue == []
