"""Fixtures for feedback's unit tests: the real wiring (``create_app``) over the in-memory
aggregate store, a manual clock, and deliveries that end as the consumer ends them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from crm_events import CloudEvent
from crm_events.common import Severity
from crm_feedback.answers import Survey
from crm_feedback.app import create_app
from crm_feedback.domain import Complaint
from crm_feedback.service import ComplaintService
from crm_feedback.settings import FeedbackSettings
from crm_feedback.suggestion_service import FeedbackService
from crm_feedback.survey_plan_service import SurveyPlanService
from crm_feedback.surveys import SurveyService
from crm_runtime.clock import ManualClock
from tests.store_memory import InMemoryBackend
from tests.unit.delivery import deliver

FEEDBACK_NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FEEDBACK_SOURCE = "/crm/feedback"


@dataclass
class Feedback:
    complaints: ComplaintService
    surveys: SurveyService
    backend: InMemoryBackend
    clock: ManualClock
    runtime: Any
    feedback: FeedbackService
    plans: SurveyPlanService

    async def deliver(self, event: CloudEvent) -> str:
        """``applied``/``duplicate``/``parked``, or ``dlq:<kind>: <reason>``."""
        return await deliver(self.runtime, event)

    def published(self, collection: str = "complaints") -> list[CloudEvent]:
        """Every event waiting in the collection's outboxes, in the order they were stored
        (by time; one document's entries keep their insertion order)."""
        entries = [
            entry
            for doc in self.backend.docs(collection).values()
            for entry in (doc.get("outbox") or {}).values()
        ]
        entries.sort(key=lambda e: e["time"])
        return [CloudEvent.model_validate(json.loads(e["value"])) for e in entries]

    async def stored(self, complaint_id: str) -> Complaint | None:
        return await self.complaints.complaints.get(complaint_id)

    async def stored_survey(self, survey_id: str) -> Survey | None:
        return await self.surveys.surveys.get(survey_id)

    async def sweep(self, name: str = "complaint-sla") -> None:
        """One pass of a sweeper (default: the SLA's) at the clock's time."""
        for sweeper in self.runtime.sweepers:
            if sweeper.name == name:
                await sweeper.sweep()


# The clock mechanics tests count wall-clock hours; business calendars have their own tests.
ROUND_THE_CLOCK = {severity: "24x7" for severity in Severity}


def feedback_unit_app(settings: FeedbackSettings, now: datetime = FEEDBACK_NOW) -> Feedback:
    """The real wiring over the in-memory store, at ``now`` on a manual clock."""
    backend = InMemoryBackend()
    clock = ManualClock(now)
    app = create_app(settings, clock, store=backend)
    state = app.state
    return Feedback(
        state.complaints,
        state.surveys,
        backend,
        clock,
        state.runtime,
        state.feedback,
        state.plans,
    )


@pytest.fixture
def feedback_unit() -> Feedback:
    return feedback_unit_app(
        FeedbackSettings(service_name="feedback", sla_calendar_by_severity=ROUND_THE_CLOCK)
    )
