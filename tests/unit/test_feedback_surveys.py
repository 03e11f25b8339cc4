"""Survey answers with in-memory repositories and a manual clock: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_events.common import Channel, Severity
from crm_events.feedback import SurveyAnswered
from crm_feedback.app import sla_policy
from crm_feedback.memory import InMemoryComplaintRepository, InMemorySurveyRepository
from crm_feedback.service import ComplaintService, NewComplaint
from crm_feedback.settings import FeedbackSettings
from crm_feedback.surveys import NewSurveyAnswer, SurveyService
from crm_runtime.clock import ManualClock
from crm_runtime.errors import Conflict, DomainError, NotFound

pytestmark = pytest.mark.unit
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SOURCE = "/crm/feedback"


@pytest.fixture
def repo() -> InMemoryComplaintRepository:
    return InMemoryComplaintRepository()


@pytest.fixture
def service(repo: InMemoryComplaintRepository) -> ComplaintService:
    policy = sla_policy(FeedbackSettings())
    return ComplaintService(repo, ManualClock(T0), policy=policy, source=SOURCE)


@pytest.fixture
def survey_repo() -> InMemorySurveyRepository:
    return InMemorySurveyRepository()


@pytest.fixture
def surveys(
    survey_repo: InMemorySurveyRepository, repo: InMemoryComplaintRepository
) -> SurveyService:
    return SurveyService(survey_repo, repo, ManualClock(T0), source=SOURCE)


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
    surveys: SurveyService, survey_repo: InMemorySurveyRepository
) -> None:
    first = await surveys.record(answer(), "evt-s1")
    await surveys.record(answer(), "evt-s1")

    assert (first.csat, first.nps, first.answered_at) == (4, 9, T0)
    assert [e.type for e in survey_repo.outbox] == [SurveyAnswered.event_type()]
    with pytest.raises(Conflict, match="already answered"):
        await surveys.record(answer(), "evt-s2")


async def test_survey_about_a_complaint_joins_its_journey(
    surveys: SurveyService,
    service: ComplaintService,
    repo: InMemoryComplaintRepository,
    survey_repo: InMemorySurveyRepository,
) -> None:
    await raise_complaint(service)
    await surveys.record(answer(trigger="complaint_resolved", complaint_id="cmp-1"), "evt-s1")
    assert survey_repo.outbox[0].correlationid == repo.outbox[0].correlationid


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
    surveys: SurveyService, survey_repo: InMemorySurveyRepository
) -> None:
    data = SurveyAnswered(
        survey_id="srv-9", customer_id="cus-1", trigger="other", nps=3, answered_at=T0
    )
    event = data.to_event(source="/survey-tool", event_id="ext-s", time=T0)

    assert await surveys.on_survey_answered(data, event) is True
    assert await surveys.on_survey_answered(data, event) is False

    assert [s.survey_id for s in await surveys.surveys_of_customer("cus-1", limit=5)] == ["srv-9"]
    assert survey_repo.outbox == []
    other = data.to_event(source="/survey-tool", event_id="ext-s-other", time=T0)
    with pytest.raises(Conflict, match="survey srv-9 was already answered"):
        await surveys.on_survey_answered(data, other)  # the runtime dead-letters it


async def test_published_answer_time_equals_the_stored_one(
    surveys: SurveyService, survey_repo: InMemorySurveyRepository
) -> None:
    answered_at = T0 - HOUR + timedelta(microseconds=123_456)

    stored = await surveys.record(answer(answered_at=answered_at), "evt-s1")

    assert stored.answered_at == T0 - HOUR + timedelta(milliseconds=123)
    assert survey_repo.outbox[0].data["answered_at"] == "2026-03-02T08:00:00.123000Z"


def test_idempotency_key_is_scoped_by_customer(surveys: SurveyService) -> None:
    assert surveys.new_survey_id("cus-1", "k") == surveys.new_survey_id("cus-1", "k")
    assert surveys.new_survey_id("cus-1", "k") != surveys.new_survey_id("cus-2", "k")
