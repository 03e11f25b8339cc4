"""Surveys that are sent, through the real wiring over the in-memory store: a CSAT request
follows each resolution after the delay, NPS comes by cadence (never too often, never after
the exit), answers close their request, unanswered ones expire, and the response rate shows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from crm_events import CloudEvent
from crm_events.common import Channel, Severity
from crm_events.contacts import CustomerRegistered
from crm_events.feedback import ComplaintResolved, SurveyAnswered, SurveyExpired, SurveyRequested
from crm_events.offboarding import ExitAgreed
from crm_feedback.service import NewComplaint
from crm_feedback.survey_plan import SurveyPlan
from tests.unit.feedback_plugin import FEEDBACK_NOW as T0
from tests.unit.feedback_plugin import Feedback

pytestmark = pytest.mark.unit
DAY = timedelta(days=1)


def sent(feedback_unit: Feedback, model: type = SurveyRequested) -> list[CloudEvent]:
    events = feedback_unit.published("survey_plans")
    return [e for e in events if e.type == model.event_type()]


async def resolve_complaint(
    feedback_unit: Feedback, complaint_id: str = "cmp-1", outcome: str = "applied"
) -> CloudEvent:
    """Raise and resolve over the service, then hand our own ComplaintResolved back to the
    consumer (as Kafka would), which schedules the CSAT request."""
    service = feedback_unit.complaints
    complaint = NewComplaint(
        complaint_id=complaint_id,
        customer_id="cus-1",
        severity=Severity.HIGH,
        category="billing",
        channel=Channel.EMAIL,
        description="charged twice",
        owner_id="emp-1",
    )
    await service.raise_complaint(complaint, f"raise-{complaint_id}")
    await service.resolve(
        complaint_id, by="emp-1", resolution="refund", event_id=f"res-{complaint_id}"
    )
    [resolved] = [
        e
        for e in feedback_unit.published()
        if e.type == ComplaintResolved.event_type() and e.data["complaint_id"] == complaint_id
    ]
    assert await feedback_unit.deliver(resolved) == outcome
    return resolved


def answer(survey_id: str, at: datetime, event_id: str = "ans-1", **scores: int) -> CloudEvent:
    data = SurveyAnswered(
        survey_id=survey_id,
        customer_id="cus-1",
        trigger="complaint_resolved",
        answered_at=at,
        **({"csat": 5} | scores),
    )
    return data.to_event(source="/survey-tool", event_id=event_id, time=at)


async def plan(feedback_unit: Feedback) -> SurveyPlan:
    found = await feedback_unit.plans.plan("cus-1")
    assert found is not None
    return found


async def test_a_csat_request_follows_the_resolution_after_the_delay(
    feedback_unit: Feedback,
) -> None:
    resolved = await resolve_complaint(feedback_unit)
    assert await feedback_unit.deliver(resolved) == "duplicate"

    feedback_unit.clock.advance(timedelta(minutes=59))
    await feedback_unit.sweep("survey-plans")
    assert sent(feedback_unit) == []
    feedback_unit.clock.advance(timedelta(minutes=1))
    await feedback_unit.sweep("survey-plans")
    await feedback_unit.sweep("survey-plans")

    [request] = sent(feedback_unit)
    assert request.data["kind"] == "csat"
    assert request.data["complaint_id"] == "cmp-1"
    assert request.data["channel"] == "email"
    assert request.data["due_at"] == "2026-03-16T10:00:00Z"  # 14 days to answer
    assert request.correlationid == "raise-cmp-1"  # the complaint's journey
    assert request.causationid == resolved.id


async def test_the_answer_closes_its_request_and_counts_for_the_response_rate(
    feedback_unit: Feedback,
) -> None:
    await resolve_complaint(feedback_unit)
    feedback_unit.clock.advance(timedelta(hours=2))
    await feedback_unit.sweep("survey-plans")
    [request] = sent(feedback_unit)

    outcome = await feedback_unit.deliver(answer(request.data["survey_id"], T0 + 3 * DAY))

    assert outcome == "applied"
    requests = (await plan(feedback_unit)).requests
    assert requests[request.data["survey_id"]].status == "answered"
    stored = await feedback_unit.stored_survey(request.data["survey_id"])
    assert stored is not None
    assert stored.csat == 5


async def test_unanswered_requests_expire_and_a_late_answer_still_counts(
    feedback_unit: Feedback,
) -> None:
    await resolve_complaint(feedback_unit)
    feedback_unit.clock.advance(timedelta(hours=2))
    await feedback_unit.sweep("survey-plans")
    feedback_unit.clock.advance(15 * DAY)
    await feedback_unit.sweep("survey-plans")

    [expired] = sent(feedback_unit, SurveyExpired)
    survey_id = expired.data["survey_id"]
    assert (await plan(feedback_unit)).counts() == {"csat": {"expired": 1}}
    assert await feedback_unit.deliver(answer(survey_id, T0 + 16 * DAY)) == "applied"
    assert (await plan(feedback_unit)).counts() == {"csat": {"answered": 1}}


async def test_each_resolution_cycle_asks_once(feedback_unit: Feedback) -> None:
    await resolve_complaint(feedback_unit)
    await feedback_unit.complaints.reopen("cmp-1", reason="no refund", by=None, event_id="re1")
    await feedback_unit.complaints.resolve("cmp-1", by="emp-1", resolution="sent", event_id="r2")
    [again] = [
        e
        for e in feedback_unit.published()
        if e.type == ComplaintResolved.event_type() and e.data.get("reopen_count") == 1
    ]
    assert await feedback_unit.deliver(again) == "applied"

    assert len((await plan(feedback_unit)).requests) == 2


async def test_nps_comes_by_cadence_and_never_too_soon_after_another_nps(
    feedback_unit: Feedback,
) -> None:
    registration = CustomerRegistered(customer_id="cus-1", display_name="A", owner_id="emp-1")
    assert await feedback_unit.deliver(registration.to_event(source="/crm/contacts", time=T0)) == (
        "applied"
    )
    assert (await plan(feedback_unit)).next_nps_at == T0 + 180 * DAY

    # An NPS answer from the survey tool's own campaign on day 150.
    late_nps = answer("srv-tool-1", T0 + 150 * DAY, "ans-tool", nps=9)
    assert await feedback_unit.deliver(late_nps) == "applied"
    assert (await plan(feedback_unit)).next_nps_at == T0 + 240 * DAY

    feedback_unit.clock.set(T0 + 240 * DAY)
    await feedback_unit.sweep("survey-plans")
    [nps] = sent(feedback_unit)
    assert (nps.data["kind"], nps.data["trigger"]) == ("nps", "periodic")
    assert (await plan(feedback_unit)).next_nps_at == T0 + 420 * DAY


async def test_after_the_exit_nothing_is_asked_any_more(feedback_unit: Feedback) -> None:
    await resolve_complaint(feedback_unit)  # CSAT scheduled for an hour later
    exit_agreed = ExitAgreed(
        case_id="case-1",
        customer_id="cus-1",
        effective_date=T0 + 30 * DAY,
        compensation_minor=0,
        currency="EUR",
        terms="mutual termination",
        agreed_by="emp-9",
    )
    assert (
        await feedback_unit.deliver(exit_agreed.to_event(source="/crm/off", time=T0)) == "applied"
    )
    await resolve_complaint(feedback_unit, "cmp-2", outcome="duplicate")  # nothing to plan

    feedback_unit.clock.set(T0 + 400 * DAY)
    await feedback_unit.sweep("survey-plans")

    assert sent(feedback_unit) == []
    current = await plan(feedback_unit)
    assert current.next_due_at is None
    assert current.counts() == {"csat": {"cancelled": 1}}
