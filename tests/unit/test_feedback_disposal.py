"""Feedback's part of data disposal (issue 9), through the real wiring over the in-memory
store: the erasure request anonymises the customer's complaints and survey answers, keeps
what the KPIs need, attests once, and the tombstone strips later or replayed facts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from crm_events import CloudEvent
from crm_events.common import Channel, Severity
from crm_events.feedback import ComplaintRaised, SurveyAnswered
from crm_events.offboarding import (
    PersonalDataErasureRequested,
    PersonalDataExportRequested,
    RelationshipEnded,
)
from crm_feedback.service import NewComplaint
from crm_feedback.surveys import NewSurveyAnswer
from tests.unit.feedback_plugin import FEEDBACK_NOW as T0
from tests.unit.feedback_plugin import Feedback

pytestmark = pytest.mark.unit
HOUR = timedelta(hours=1)


def complaint(complaint_id: str) -> NewComplaint:
    return NewComplaint(
        complaint_id=complaint_id,
        customer_id="cus-1",
        severity=Severity.HIGH,
        category="billing",
        channel=Channel.PHONE,
        description="Charged twice; call me on my private number",
        owner_id="emp-1",
    )


def request(customer_id: str = "cus-1", event_id: str = "evt-erase") -> CloudEvent:
    data = PersonalDataErasureRequested(
        case_id="obc-1",
        customer_id=customer_id,
        requested_at=T0,
        services=["feedback"],
        attest_by=T0 + timedelta(days=7),
    )
    return data.to_event(source="/crm/offboarding", event_id=event_id, time=T0)


async def sweep(feedback: Feedback) -> None:
    for sweeper in feedback.runtime.sweepers:
        if sweeper.name == "erasures":
            await sweeper.sweep()


async def erased_customer(feedback_unit: Feedback) -> None:
    for complaint_id in ("cmp-1", "cmp-2"):
        await feedback_unit.complaints.raise_complaint(
            complaint(complaint_id), f"raise-{complaint_id}"
        )
    await feedback_unit.complaints.resolve(
        "cmp-1", by="emp-1", resolution="Refunded to her", event_id="res"
    )
    survey = NewSurveyAnswer(
        survey_id="srv-1", customer_id="cus-1", trigger="periodic", csat=2, comment="Rude agent"
    )
    await feedback_unit.surveys.record(survey, "evt-survey")
    assert await feedback_unit.deliver(request()) == "applied"
    await sweep(feedback_unit)


async def test_erasure_overwrites_free_text_keeps_the_facts_and_attests_once(
    feedback_unit: Feedback,
) -> None:
    await erased_customer(feedback_unit)
    await sweep(feedback_unit)

    first, second = [await feedback_unit.stored(c) for c in ("cmp-1", "cmp-2")]
    assert first is not None
    assert second is not None
    assert (first.description, first.resolution) == ("[erased]", "[erased]")
    assert second.description == "[erased]"
    assert (first.severity, first.category, first.status) == ("high", "billing", "resolved")
    survey = await feedback_unit.stored_survey("srv-1")
    assert survey is not None
    assert (survey.comment, survey.csat) == (None, 2)
    attestations = feedback_unit.published("erased_customers")
    assert [e.data["service"] for e in attestations] == ["feedback"]
    assert attestations[0].data["records"] == 3
    assert await feedback_unit.deliver(request()) == "duplicate"


async def test_late_and_replayed_facts_are_stored_without_free_text(
    feedback_unit: Feedback,
) -> None:
    await erased_customer(feedback_unit)
    late = ComplaintRaised(
        complaint_id="cmp-late",
        customer_id="cus-1",
        severity=Severity.LOW,
        category="delivery",
        channel=Channel.EMAIL,
        description="My home address changed",
        owner_id="emp-7",
        first_response_due_at=T0 + 2 * HOUR,
        resolution_due_at=T0 + 10 * HOUR,
    ).to_event(source="/call-centre", event_id="ext-late", time=T0)
    answer = SurveyAnswered(
        survey_id="srv-late",
        customer_id="cus-1",
        trigger="periodic",
        answered_at=T0,
        nps=3,
        comment="Bad",
    ).to_event(source="/survey-tool", event_id="ext-survey", time=T0)

    assert await feedback_unit.deliver(late) == "applied"
    assert await feedback_unit.deliver(answer) == "applied"

    stored = await feedback_unit.stored("cmp-late")
    assert stored is not None
    assert stored.description == "[erased]"
    survey = await feedback_unit.stored_survey("srv-late")
    assert survey is not None
    assert (survey.comment, survey.nps) == (None, 3)


async def test_a_customer_without_feedback_attests_with_no_records(
    feedback_unit: Feedback,
) -> None:
    assert await feedback_unit.deliver(request("cus-none")) == "applied"
    await sweep(feedback_unit)

    (attestation,) = feedback_unit.published("erased_customers")
    assert (attestation.data["customer_id"], attestation.data["records"]) == ("cus-none", 0)


async def test_an_export_request_is_answered_with_complaints_and_surveys_once(
    feedback_unit: Feedback,
) -> None:
    await feedback_unit.complaints.raise_complaint(complaint("cmp-1"), "raise-1")
    data = PersonalDataExportRequested(
        export_id="exp-1",
        case_id="obc-1",
        customer_id="cus-1",
        services=["feedback"],
        requested_by="emp-mgr",
    )
    event = data.to_event(source="/crm/offboarding", event_id="evt-export", time=T0)

    assert await feedback_unit.deliver(event) == "applied"
    assert await feedback_unit.deliver(event) == "duplicate"

    (exported,) = feedback_unit.published("export_answers")
    section = json.loads(exported.data["section"])
    assert [c["complaint_id"] for c in section["complaints"]] == ["cmp-1"]
    assert section["complaints"][0]["description"].startswith("Charged twice")
    assert section["surveys"] == []


async def test_relationship_ended_closes_open_complaints_with_a_recorded_outcome(
    feedback_unit: Feedback,
) -> None:
    for complaint_id in ("cmp-1", "cmp-2"):
        await feedback_unit.complaints.raise_complaint(complaint(complaint_id), f"r-{complaint_id}")
    await feedback_unit.complaints.resolve("cmp-1", by="emp-1", resolution="Refunded", event_id="x")
    ended = RelationshipEnded(case_id="obc-1", customer_id="cus-1", ended_at=T0).to_event(
        source="/crm/offboarding", event_id="evt-ended", time=T0
    )

    assert await feedback_unit.deliver(ended) == "applied"

    first, second = [await feedback_unit.stored(c) for c in ("cmp-1", "cmp-2")]
    assert first is not None
    assert second is not None
    assert first.resolution == "Refunded"  # resolved before: untouched
    assert second.status == "resolved"
    assert second.resolved_by == "crm-offboarding"
    assert "obc-1" in (second.resolution or "")
    resolved = [e for e in feedback_unit.published() if e.type.endswith("complaint-resolved.v1")]
    assert [e.data["complaint_id"] for e in resolved] == ["cmp-1", "cmp-2"]
