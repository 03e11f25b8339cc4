"""Survey answers through the real wiring over the in-memory aggregate store and a manual
clock: no I/O."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_events.common import Channel, Severity
from crm_events.feedback import SurveyAnswered
from crm_feedback import translate
from crm_feedback.service import ComplaintService, NewComplaint
from crm_feedback.surveys import NewSurveyAnswer, SurveyService
from crm_runtime.errors import Conflict, DomainError, NotFound
from tests.unit.feedback_plugin import FEEDBACK_NOW as T0
from tests.unit.feedback_plugin import Feedback

pytestmark = pytest.mark.unit
HOUR = timedelta(hours=1)


@pytest.fixture
def service(feedback_unit: Feedback) -> ComplaintService:
    return feedback_unit.complaints


@pytest.fixture
def surveys(feedback_unit: Feedback) -> SurveyService:
    return feedback_unit.surveys


async def raise_complaint(service: ComplaintService) -> None:
    request = NewComplaint(
        complaint_id="cmp-1",
        customer_id="cus-1",
        severity=Severity.HIGH,
        category="billing",
        channel=Channel.PHONE,
        description="charged twice",
        owner_id="emp-1",
    )
    await service.raise_complaint(request, "evt-raise")


def answer(**changes: object) -> NewSurveyAnswer:
    values: dict[str, object] = {
        "survey_id": "srv-1",
        "customer_id": "cus-1",
        "trigger": "periodic",
        "csat": 4,
        "nps": 9,
    }
    return NewSurveyAnswer(**{**values, **changes})  # type: ignore[arg-type]


async def test_survey_answer_is_stored_and_published_once(
    surveys: SurveyService, feedback_unit: Feedback
) -> None:
    first = await surveys.record(answer(), "evt-s1")
    await surveys.record(answer(), "evt-s1")

    assert (first.csat, first.nps, first.answered_at) == (4, 9, T0)
    assert [e.type for e in feedback_unit.published("surveys")] == [SurveyAnswered.event_type()]
    with pytest.raises(Conflict, match="already answered"):
        await surveys.record(answer(), "evt-s2")


async def test_survey_about_a_complaint_joins_its_journey(
    surveys: SurveyService,
    service: ComplaintService,
    feedback_unit: Feedback,
) -> None:
    await raise_complaint(service)
    await surveys.record(answer(trigger="complaint_resolved", complaint_id="cmp-1"), "evt-s1")
    [answered] = feedback_unit.published("surveys")
    assert answered.correlationid == feedback_unit.published()[0].correlationid


@pytest.mark.parametrize(
    ("changes", "error", "reason"),
    [
        ({"complaint_id": "nope"}, NotFound, "complaint nope not found"),
        ({"trigger": "complaint_resolved"}, DomainError, "needs a complaint_id"),
        ({"answered_at": T0 + HOUR}, DomainError, "answered_at lies in the future"),
        ({"complaint_id": "cmp-1", "customer_id": "cus-2"}, DomainError, "another customer"),
    ],
)
async def test_survey_answers_are_checked(
    surveys: SurveyService,
    service: ComplaintService,
    changes: dict[str, object],
    error: type[Exception],
    reason: str,
) -> None:
    await raise_complaint(service)
    with pytest.raises(error, match=reason):
        await surveys.record(answer(**changes), "evt-s1")


async def test_consumed_survey_is_stored_once_and_not_republished(
    surveys: SurveyService, feedback_unit: Feedback
) -> None:
    data = SurveyAnswered(
        survey_id="srv-9", customer_id="cus-1", trigger="other", nps=3, answered_at=T0
    )
    event = data.to_event(source="/survey-tool", event_id="ext-s", time=T0)

    assert await feedback_unit.deliver(event) == "applied"
    assert await feedback_unit.deliver(event) == "duplicate"

    assert [s.survey_id for s in await surveys.surveys_of_customer("cus-1", limit=5)] == ["srv-9"]
    assert feedback_unit.published("surveys") == []
    changed = data.model_copy(update={"nps": 4})
    other = changed.to_event(source="/survey-tool", event_id="ext-s-other", time=T0)
    outcome = await feedback_unit.deliver(other)
    assert outcome.startswith("dlq:conflict: ")


async def test_a_survey_answered_again_under_another_event_id_conflicts(
    surveys: SurveyService,
) -> None:
    """Below the business-key guard, the survey itself refuses a second answer."""
    data = SurveyAnswered(
        survey_id="srv-9", customer_id="cus-1", trigger="other", nps=3, answered_at=T0
    )
    first = data.to_event(source="/survey-tool", event_id="ext-s", time=T0)
    other = data.to_event(source="/survey-tool", event_id="ext-s-other", time=T0)
    await surveys.answered(translate.survey_answer(data, first))

    with pytest.raises(Conflict, match="survey srv-9 was already answered"):
        await surveys.answered(translate.survey_answer(data, other))


async def test_published_answer_time_equals_the_stored_one(
    surveys: SurveyService, feedback_unit: Feedback
) -> None:
    answered_at = T0 - HOUR + timedelta(microseconds=123_456)

    stored = await surveys.record(answer(answered_at=answered_at), "evt-s1")

    assert stored.answered_at == T0 - HOUR + timedelta(milliseconds=123)
    assert (
        feedback_unit.published("surveys")[0].data["answered_at"] == "2026-03-02T08:00:00.123000Z"
    )


def test_idempotency_key_is_scoped_by_customer(surveys: SurveyService) -> None:
    assert surveys.new_survey_id("cus-1", "k") == surveys.new_survey_id("cus-1", "k")
    assert surveys.new_survey_id("cus-1", "k") != surveys.new_survey_id("cus-2", "k")
