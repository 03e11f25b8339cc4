"""Consumed topics and the SLA timer → service calls. Validation and DLQ are the runtime's."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from crm_events.feedback import ComplaintRaised, SurveyAnswered
from crm_feedback.service import ComplaintService
from crm_feedback.surveys import SurveyService
from crm_runtime.app import ServiceRuntime


def register_handlers(
    runtime: ServiceRuntime, complaints: ComplaintService, surveys: SurveyService
) -> None:
    runtime.on(ComplaintRaised, complaints.on_complaint_raised)
    runtime.on(SurveyAnswered, surveys.on_survey_answered)


def register_sla_sweeper(
    runtime: ServiceRuntime, collection: AsyncCollection[Any], complaints: ComplaintService
) -> None:
    """Complaints whose ``next_due_at`` has come are handed to the service by id."""

    async def due(doc: dict[str, Any], now: datetime) -> None:
        await complaints.on_due(str(doc["_id"]), now)

    runtime.sweep("complaint-sla", collection, due)
