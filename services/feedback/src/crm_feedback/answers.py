"""Survey answers (CSAT 1-5, NPS 0-10): the answer as stored, and the fact that records it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_feedback.domain import to_millis


@dataclass(frozen=True)
class Survey:
    """One answered survey; ``answered_event_id`` is the SurveyAnswered event behind it."""

    survey_id: str
    customer_id: str
    trigger: str
    answered_at: datetime
    recorded_at: datetime
    answered_event_id: str
    csat: int | None = None
    nps: int | None = None
    comment: str | None = None
    complaint_id: str | None = None


@dataclass(frozen=True)
class SurveyAnswer:
    """Fact: a customer answered a survey (recorded here or by a survey tool)."""

    event_id: str
    survey_id: str
    customer_id: str
    trigger: str
    answered_at: datetime
    csat: int | None = None
    nps: int | None = None
    comment: str | None = None
    complaint_id: str | None = None


def record_survey(fact: SurveyAnswer, *, at: datetime) -> Survey:
    return Survey(
        survey_id=fact.survey_id,
        customer_id=fact.customer_id,
        trigger=fact.trigger,
        answered_at=to_millis(fact.answered_at),
        recorded_at=to_millis(at),
        answered_event_id=fact.event_id,
        csat=fact.csat,
        nps=fact.nps,
        comment=fact.comment,
        complaint_id=fact.complaint_id,
    )
