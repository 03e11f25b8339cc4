"""Composition root of the feedback service."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from crm_events import EventData
from crm_events.feedback import (
    ComplaintAcknowledged,
    ComplaintEscalated,
    ComplaintRaised,
    ComplaintResolved,
    ComplaintSlaBreached,
    ComplaintSlaWarning,
    SurveyAnswered,
)
from crm_feedback.api import build_router
from crm_feedback.handlers import register_handlers, register_sla_sweeper
from crm_feedback.mongo_repository import MongoComplaintRepository, MongoSurveyRepository
from crm_feedback.service import ComplaintService
from crm_feedback.settings import FeedbackSettings
from crm_feedback.sla import SlaPolicy
from crm_feedback.surveys import SurveyService
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock

PUBLISHED: list[type[EventData]] = [
    ComplaintRaised,
    ComplaintAcknowledged,
    ComplaintSlaWarning,
    ComplaintSlaBreached,
    ComplaintEscalated,
    ComplaintResolved,
    SurveyAnswered,
]


def sla_policy(settings: FeedbackSettings) -> SlaPolicy:
    return SlaPolicy(
        targets={
            severity.value: (
                timedelta(minutes=targets.first_response_minutes),
                timedelta(minutes=targets.resolution_minutes),
            )
            for severity, targets in settings.sla_policy.items()
        },
        warning_fraction=settings.sla_warning_fraction,
        escalation_chain=tuple(settings.escalation_chain),
    )


def create_app(settings: FeedbackSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or FeedbackSettings()
    runtime = ServiceRuntime(settings, clock=clock)
    complaint_repo = MongoComplaintRepository(runtime.db)
    survey_repo = MongoSurveyRepository(runtime.db)
    outbox = runtime.notify_outbox
    complaints = ComplaintService(
        complaint_repo,
        runtime.clock,
        policy=sla_policy(settings),
        source=runtime.source,
        on_outbox=outbox,
    )
    surveys = SurveyService(
        survey_repo, complaint_repo, runtime.clock, source=runtime.source, on_outbox=outbox
    )
    register_handlers(runtime, complaints, surveys)
    register_sla_sweeper(runtime, complaint_repo.complaints, complaints)
    runtime.publishes(PUBLISHED, outboxes=[complaint_repo.complaints, survey_repo.surveys])
    runtime.on_startup(complaint_repo.ensure_indexes)
    runtime.on_startup(survey_repo.ensure_indexes)
    return runtime.build_app(
        title="CRM feedback service", routers=[build_router(complaints, surveys)]
    )
