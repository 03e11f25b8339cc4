"""Survey use cases: answers recorded over HTTP or consumed from other systems, each one
decision applied to one survey by the aggregate store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from crm_events.feedback import SurveyAnswered
from crm_feedback import codec, decisions, domain, translate
from crm_feedback.answers import Survey, SurveyAnswer
from crm_feedback.domain import Complaint, to_millis
from crm_runtime.clock import Clock
from crm_runtime.errors import DomainError, NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.store import AggregateStore

Trigger = Literal["complaint_resolved", "periodic", "other"]


@dataclass(frozen=True)
class NewSurveyAnswer:
    survey_id: str
    customer_id: str
    trigger: Trigger
    csat: int | None = None
    nps: int | None = None
    comment: str | None = None
    complaint_id: str | None = None
    answered_at: datetime | None = None


class SurveyService:
    def __init__(
        self,
        surveys: AggregateStore[Survey],
        complaints: AggregateStore[Complaint],
        clock: Clock,
        *,
        source: str,
    ) -> None:
        self.surveys = surveys
        self._complaints = complaints
        self._clock = clock
        self._source = source

    def event_id(self, survey_id: str, key: str | None) -> str:
        return command_event_id(self._source, "record-survey", survey_id, key)

    def new_survey_id(self, customer_id: str, key: str | None) -> str:
        return domain.new_entity_id("srv", self._source, customer_id, key)

    async def record(self, request: NewSurveyAnswer, event_id: str) -> Survey:
        """HTTP: check the answer against what we know, store it and publish SurveyAnswered."""
        now = to_millis(self._clock.now())
        answered_at = to_millis(request.answered_at or now)
        domain.check_not_future(answered_at, now, "answered_at")
        complaint = await self._complaint_of(request)
        data = SurveyAnswered(
            survey_id=request.survey_id,
            customer_id=request.customer_id,
            trigger=request.trigger,
            csat=request.csat,
            nps=request.nps,
            comment=request.comment,
            complaint_id=request.complaint_id,
            answered_at=answered_at,
        )
        # A survey about a complaint joins that complaint's journey (correlation id).
        event = data.to_event(
            source=self._source,
            event_id=event_id,
            time=now,
            correlation_id=complaint.correlation_id if complaint else None,
        )
        fact = translate.survey_answer(data, event)
        await self.surveys.apply(
            fact.survey_id, fact.event_id, lambda s: decisions.answer_survey(s, fact, now, [event])
        )
        return await self.survey(fact.survey_id)

    async def answered(self, fact: SurveyAnswer) -> bool:
        """From another system (or our own, relayed back): stored once, never republished.

        The complaint it names is not required to be known here: the answer is a fact.
        """
        now = self._clock.now()
        applied = await self.surveys.apply(
            fact.survey_id, fact.event_id, lambda s: decisions.answer_survey(s, fact, now)
        )
        return applied.applied

    async def survey(self, survey_id: str) -> Survey:
        found = await self.surveys.get(survey_id)
        if found is None:
            raise NotFound(f"survey {survey_id} not found")
        return found

    async def surveys_of_customer(self, customer_id: str, *, limit: int) -> list[Survey]:
        return await codec.surveys_of(self.surveys.backend, customer_id, limit=limit)

    async def _complaint_of(self, request: NewSurveyAnswer) -> Complaint | None:
        if request.complaint_id is None:
            if request.trigger == "complaint_resolved":
                raise DomainError("trigger complaint_resolved needs a complaint_id")
            return None
        complaint = await self._complaints.get(request.complaint_id)
        if complaint is None:
            raise NotFound(f"complaint {request.complaint_id} not found")
        if complaint.customer_id != request.customer_id:
            raise DomainError(f"complaint {request.complaint_id} belongs to another customer")
        return complaint
