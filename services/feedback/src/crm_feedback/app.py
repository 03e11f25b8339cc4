"""Composition root of the feedback service."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from crm_events import EventData
from crm_events.feedback import (
    ComplaintAcknowledged,
    ComplaintEscalated,
    ComplaintRaised,
    ComplaintReassigned,
    ComplaintResolved,
    ComplaintSlaBreached,
    ComplaintSlaWarning,
    SurveyAnswered,
)
from crm_feedback import codec, ownership
from crm_feedback.api import build_router
from crm_feedback.handlers import register_handlers
from crm_feedback.service import ComplaintService
from crm_feedback.settings import FeedbackSettings
from crm_feedback.sla import SlaPolicy
from crm_feedback.surveys import SurveyService
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.store import Backend

PUBLISHED: list[type[EventData]] = [
    ComplaintRaised,
    ComplaintAcknowledged,
    ComplaintSlaWarning,
    ComplaintSlaBreached,
    ComplaintEscalated,
    ComplaintResolved,
    SurveyAnswered,
    ComplaintReassigned,
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


def create_app(
    settings: FeedbackSettings | None = None,
    clock: Clock | None = None,
    *,
    store: Backend | None = None,
) -> FastAPI:
    """``store``: where aggregates live (default MongoDB; the unit tests pass in-memory)."""
    settings = settings or FeedbackSettings()
    runtime = ServiceRuntime(settings, clock=clock, backend=store)
    complaint_store = runtime.aggregates(codec.ComplaintCodec())
    survey_store = runtime.aggregates(codec.SurveyCodec())
    complaints = ComplaintService(
        complaint_store, runtime.clock, policy=sla_policy(settings), source=runtime.source
    )
    surveys = SurveyService(survey_store, complaint_store, runtime.clock, source=runtime.source)
    register_handlers(runtime, complaints, surveys)
    owners = ownership.ComplaintOwnership(
        runtime.aggregates(ownership.AccountCodec()),
        complaint_store,
        runtime.clock,
        source=runtime.source,
    )
    ownership.wire(runtime, owners)
    runtime.sweep_aggregates("complaint-sla", complaint_store, complaints.on_due)
    runtime.publishes(PUBLISHED, outboxes=[runtime.db[codec.COMPLAINTS], runtime.db[codec.SURVEYS]])
    if store is None:
        runtime.on_startup(lambda: codec.ensure_indexes(runtime.db))
    app = runtime.build_app(
        title="CRM feedback service", routers=[build_router(complaints, surveys)]
    )
    app.state.complaints = complaints
    app.state.surveys = surveys
    return app
