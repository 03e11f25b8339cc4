"""Feedback counts a complaint or a survey answer once whatever event id it comes under
(issue 6, finding 5): a copy is a duplicate, not `rejected`; a contradiction is a conflict."""

from __future__ import annotations

import pytest

from crm_events.feedback import ComplaintRaised, SurveyAnswered
from crm_feedback.app import sla_policy
from crm_feedback.handlers import register_handlers
from crm_feedback.memory import InMemoryComplaintRepository, InMemorySurveyRepository
from crm_feedback.service import ComplaintService
from crm_feedback.settings import FeedbackSettings
from crm_feedback.surveys import SurveyService
from crm_runtime.clock import ManualClock
from tests.unit.guarded import GuardedRuntime, event_of
from tests.unit.test_feedback_service import T0

pytestmark = pytest.mark.unit


class Feedback:
    def __init__(self) -> None:
        clock = ManualClock(T0)
        self.complaints = InMemoryComplaintRepository()
        self.surveys = InMemorySurveyRepository()
        complaints = ComplaintService(
            self.complaints, clock, policy=sla_policy(FeedbackSettings()), source="/crm/feedback"
        )
        surveys = SurveyService(self.surveys, self.complaints, clock, source="/crm/feedback")
        self.runtime = GuardedRuntime(clock)
        register_handlers(self.runtime, complaints, surveys)  # type: ignore[arg-type]


async def test_the_same_complaint_under_a_new_event_id_is_a_duplicate_not_rejected() -> None:
    feedback = Feedback()

    first = await feedback.runtime.deliver(event_of(ComplaintRaised, "evt-1"))
    second = await feedback.runtime.deliver(event_of(ComplaintRaised, "evt-2"))

    assert (first, second) == ("applied", "duplicate")
    stored = await feedback.complaints.get("cmp-3001")
    assert stored is not None
    assert stored.raised_event_id == "evt-1"


async def test_a_complaint_contradicting_the_stored_one_is_a_conflict() -> None:
    feedback = Feedback()
    await feedback.runtime.deliver(event_of(ComplaintRaised, "evt-1"))

    outcome = await feedback.runtime.deliver(event_of(ComplaintRaised, "evt-2", severity="low"))

    assert outcome.startswith("dlq:conflict: ")
    assert "evt-1" in outcome
    assert "evt-2" in outcome
    stored = await feedback.complaints.get("cmp-3001")
    assert stored is not None
    assert stored.severity == "high"


async def test_the_same_survey_answer_twice_is_stored_once_and_a_changed_score_conflicts() -> None:
    feedback = Feedback()

    outcomes = [
        await feedback.runtime.deliver(event_of(SurveyAnswered, "evt-1")),
        await feedback.runtime.deliver(event_of(SurveyAnswered, "evt-2")),
        await feedback.runtime.deliver(event_of(SurveyAnswered, "evt-3", csat=1)),
    ]

    assert outcomes[:2] == ["applied", "duplicate"]
    assert outcomes[2].startswith("dlq:conflict: ")
    stored = await feedback.surveys.get("srv-9001")
    assert stored is not None
    assert stored.csat == 4
