"""Composition root of the feedback service."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from crm_events import EventData
from crm_events.feedback import (
    ComplaintAcknowledged,
    ComplaintEscalated,
    ComplaintPaused,
    ComplaintRaised,
    ComplaintReassigned,
    ComplaintReopened,
    ComplaintResolved,
    ComplaintResumed,
    ComplaintSlaBreached,
    ComplaintSlaWarning,
    FeedbackStatusChanged,
    FeedbackSubmitted,
    SurveyAnswered,
    SurveyExpired,
    SurveyRequested,
)
from crm_events.offboarding import PersonalDataErased, PersonalDataExported
from crm_feedback import codec, departures, ownership
from crm_feedback.api import build_router
from crm_feedback.api_feedback import build_feedback_router, build_survey_plan_router
from crm_feedback.disposal_service import DisposalService, EndOfRelationship, PortabilityService
from crm_feedback.handlers import register_handlers
from crm_feedback.service import ComplaintService
from crm_feedback.settings import FeedbackSettings
from crm_feedback.sla import SlaPolicy
from crm_feedback.suggestion_service import FeedbackService
from crm_feedback.survey_plan import SurveyRules
from crm_feedback.survey_plan_service import SurveyPlanService
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
    ComplaintPaused,
    ComplaintResumed,
    ComplaintReopened,
    FeedbackSubmitted,
    FeedbackStatusChanged,
    SurveyRequested,
    SurveyExpired,
    SurveyAnswered,
    PersonalDataErased,
    PersonalDataExported,
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
        escalation_chains=_escalation_chains(settings),
        calendars={name: config.build(name) for name, config in settings.sla_calendars.items()},
        calendar_by_severity={k.value: v for k, v in settings.sla_calendar_by_severity.items()},
        calendar_by_segment={
            segment: {k.value: v for k, v in names.items()}
            for segment, names in settings.sla_calendar_by_segment.items()
        },
        reopen_window=timedelta(days=settings.reopen_window_days),
    )


def _escalation_chains(settings: FeedbackSettings) -> dict[str, dict[str, tuple[str, ...]]]:
    """Only what is configured: a clock without its own chain follows the default by level."""
    chains: dict[str, dict[str, tuple[str, ...]]] = {}
    for severity, configured in settings.escalation_chains.items():
        chains[severity.value] = {
            clock: tuple(chain) for clock, chain in configured.model_dump(exclude_none=True).items()
        }
    return chains


def survey_rules(settings: FeedbackSettings, runtime: ServiceRuntime) -> SurveyRules:
    return SurveyRules(
        csat_delay=timedelta(minutes=settings.csat_delay_minutes),
        answer_window=timedelta(days=settings.survey_answer_window_days),
        nps_cadence=timedelta(days=settings.nps_cadence_days),
        nps_min_interval=timedelta(days=settings.nps_min_interval_days),
        channel=settings.survey_channel.value,
        source=runtime.source,
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
    policy = sla_policy(settings)
    complaint_store = runtime.aggregates(codec.ComplaintCodec())
    survey_store = runtime.aggregates(codec.SurveyCodec())
    plans = SurveyPlanService(
        runtime.aggregates(codec.SurveyPlanCodec()), runtime.clock, survey_rules(settings, runtime)
    )
    feedback = FeedbackService(
        runtime.aggregates(codec.FeedbackCodec()), runtime.clock, source=runtime.source
    )
    leavers = departures.StaffDepartures(
        runtime.aggregates(departures.DepartureCodec()),
        runtime.aggregates(ownership.AccountCodec()),
        complaint_store,
        runtime.clock,
        source=runtime.source,
        pool=tuple(settings.default_owner_pool),
        recheck=timedelta(seconds=settings.departure_recheck_s),
    )
    complaints = ComplaintService(
        complaint_store,
        runtime.clock,
        policy=policy,
        source=runtime.source,
        replacement=leavers.replacement,
    )
    surveys = SurveyService(survey_store, complaint_store, runtime.clock, source=runtime.source)
    tombstones = runtime.aggregates(codec.TombstoneCodec())
    disposals = DisposalService(
        tombstones, complaint_store, survey_store, runtime.clock, source=runtime.source
    )
    exports = PortabilityService(
        runtime.aggregates(codec.ExportAnswerCodec()), runtime.clock, source=runtime.source
    )
    ends = runtime.aggregates(codec.EndedRelationshipCodec())
    ending = EndOfRelationship(
        complaint_store, ends, runtime.clock, policy=policy, source=runtime.source
    )
    owners = ownership.ComplaintOwnership(
        leavers.accounts,
        complaint_store,
        runtime.clock,
        source=runtime.source,
        replacement=leavers.replacement,
    )
    register_handlers(
        runtime, complaints, surveys, feedback, plans, disposals, exports, ending, owners
    )
    ownership.wire(runtime, owners)
    departures.wire(runtime, leavers)
    runtime.sweep_aggregates("complaint-sla", complaint_store, complaints.on_due)
    runtime.sweep_aggregates("survey-plans", plans.plans, plans.on_due)
    runtime.sweep_aggregates("erasures", tombstones, disposals.on_due)
    runtime.sweep_aggregates("departures", leavers.store, leavers.recheck)
    names = (
        codec.COMPLAINTS,
        codec.SURVEYS,
        codec.FEEDBACK,
        codec.SURVEY_PLANS,
        codec.ERASED_CUSTOMERS,
        codec.EXPORT_ANSWERS,
    )
    runtime.publishes(PUBLISHED, outboxes=[runtime.db[name] for name in names])
    if store is None:
        runtime.on_startup(lambda: codec.ensure_indexes(runtime.db))
    app = runtime.build_app(
        title="CRM feedback service",
        routers=[
            build_router(complaints, surveys),
            build_feedback_router(feedback),
            build_survey_plan_router(plans),
        ],
    )
    app.state.complaints = complaints
    app.state.surveys = surveys
    app.state.feedback = feedback
    app.state.plans = plans
    app.state.disposals = disposals
    return app
