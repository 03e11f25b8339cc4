"""Feedback counts a complaint or a survey answer once whatever event id it comes under
(issue 6, finding 5): a copy is a duplicate, not `rejected`; a contradiction is a conflict."""

from __future__ import annotations

import pytest

from crm_events.feedback import ComplaintRaised, SurveyAnswered
from tests.unit.feedback_plugin import Feedback
from tests.unit.guarded import event_of

pytestmark = pytest.mark.unit


async def test_the_same_complaint_under_a_new_event_id_is_a_duplicate_not_rejected(
    feedback_unit: Feedback,
) -> None:
    feedback = feedback_unit

    first = await feedback.deliver(event_of(ComplaintRaised, "evt-1"))
    second = await feedback.deliver(event_of(ComplaintRaised, "evt-2"))

    assert (first, second) == ("applied", "duplicate")
    stored = await feedback.stored("cmp-3001")
    assert stored is not None
    assert stored.raised_event_id == "evt-1"


async def test_a_complaint_contradicting_the_stored_one_is_a_conflict(
    feedback_unit: Feedback,
) -> None:
    feedback = feedback_unit
    await feedback.deliver(event_of(ComplaintRaised, "evt-1"))

    outcome = await feedback.deliver(event_of(ComplaintRaised, "evt-2", severity="low"))

    assert outcome.startswith("dlq:conflict: ")
    assert "evt-1" in outcome
    assert "evt-2" in outcome
    stored = await feedback.stored("cmp-3001")
    assert stored is not None
    assert stored.severity == "high"


async def test_the_same_survey_answer_twice_is_stored_once_and_a_changed_score_conflicts(
    feedback_unit: Feedback,
) -> None:
    feedback = feedback_unit

    outcomes = [
        await feedback.deliver(event_of(SurveyAnswered, "evt-1")),
        await feedback.deliver(event_of(SurveyAnswered, "evt-2")),
        await feedback.deliver(event_of(SurveyAnswered, "evt-3", csat=1)),
    ]

    assert outcomes[:2] == ["applied", "duplicate"]
    assert outcomes[2].startswith("dlq:conflict: ")
    stored = await feedback.stored_survey("srv-9001")
    assert stored is not None
    assert stored.csat == 4
