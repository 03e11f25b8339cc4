"""Consumed topics → translator → one service call. Validation, business keys and DLQ
routing happen in the runtime; a complaint fact touches its complaint, an answer its survey."""

from __future__ import annotations

from crm_events import CloudEvent
from crm_events.contacts import CustomerRegistered
from crm_events.feedback import (
    ComplaintRaised,
    ComplaintResolved,
    FeedbackSubmitted,
    SurveyAnswered,
)
from crm_events.inbound import CustomerReplied
from crm_events.offboarding import (
    ExitAgreed,
    PersonalDataErasureRequested,
    PersonalDataExportRequested,
    RelationshipEnded,
)
from crm_feedback import disposal, translate
from crm_feedback.disposal_service import (
    DisposalService,
    EndOfRelationship,
    PortabilityService,
)
from crm_feedback.ownership import ComplaintOwnership
from crm_feedback.service import ComplaintService
from crm_feedback.suggestion_service import FeedbackService
from crm_feedback.survey_plan_service import SurveyPlanService
from crm_feedback.surveys import SurveyService
from crm_runtime.app import ServiceRuntime


def register_handlers(
    runtime: ServiceRuntime,
    complaints: ComplaintService,
    surveys: SurveyService,
    feedback: FeedbackService,
    plans: SurveyPlanService,
    disposals: DisposalService,
    exports: PortabilityService,
    ending: EndOfRelationship,
    owners: ComplaintOwnership,
) -> None:
    # A fact about an erased customer (late, or replayed) is stored without its free text.
    async def complaint_raised(data: ComplaintRaised, event: CloudEvent) -> bool:
        erased = await disposals.erased(data.customer_id)
        fact = disposal.filed_after_erasure(translate.complaint_filed(data, event), erased)
        return await complaints.filed(fact)

    async def survey_answered(data: SurveyAnswered, event: CloudEvent) -> bool:
        erased = await disposals.erased(data.customer_id)
        answer = disposal.answered_after_erasure(translate.survey_answer(data, event), erased)
        # Two aggregates, each guarded by the event id: a redelivery after a crash between
        # the writes finds the first applied and completes the second.
        recorded = await surveys.answered(answer)
        matched = await plans.answered(answer)
        return recorded or matched

    async def customer_registered(data: CustomerRegistered, event: CloudEvent) -> bool:
        # Two aggregates, each guarded by the event id (as a survey answer above).
        planned = await plans.registered(data.customer_id, event.time, event.id)
        owned = await owners.registered(event.id, data.customer_id, data.owner_id, event.time)
        return planned or owned

    async def exit_agreed(data: ExitAgreed, event: CloudEvent) -> bool:
        return await plans.exited(data.customer_id, event.time, event.id)

    async def erasure_requested(data: PersonalDataErasureRequested, event: CloudEvent) -> bool:
        return await disposals.erasure_requested(translate.erasure_request(data, event))

    async def export_requested(data: PersonalDataExportRequested, event: CloudEvent) -> bool:
        return await exports.export_requested(translate.export_request(data, event))

    async def relationship_ended(data: RelationshipEnded, event: CloudEvent) -> bool:
        return await ending.ended(event.id, data.customer_id, data.case_id)

    by_customer = (plans.plans, lambda data: data.customer_id)
    erased = (disposals.tombstones, lambda data: data.customer_id)
    account = (owners.accounts, lambda data: data.customer_id)
    runtime.on(ComplaintResolved, plans.complaint_resolved, aggregate=by_customer)
    runtime.on(CustomerRegistered, customer_registered, aggregate=[by_customer, account])
    runtime.on(ExitAgreed, exit_agreed, aggregate=by_customer)
    runtime.on(
        RelationshipEnded, relationship_ended, aggregate=(ending.ends, lambda d: d.customer_id)
    )
    runtime.on(
        PersonalDataExportRequested,
        export_requested,
        aggregate=(exports.answers, lambda data: data.export_id),
    )
    runtime.on(
        PersonalDataErasureRequested,
        erasure_requested,
        aggregate=(disposals.tombstones, lambda data: data.customer_id),
    )

    runtime.on(
        ComplaintRaised,
        complaint_raised,
        aggregate=[(complaints.complaints, lambda data: data.complaint_id), erased],
    )

    async def customer_replied(data: CustomerReplied, event: CloudEvent) -> bool:
        return await complaints.replied(translate.customer_reply(data, event))

    runtime.on(
        CustomerReplied,
        customer_replied,
        aggregate=(complaints.complaints, lambda data: data.complaint_id),
    )

    async def feedback_submitted(data: FeedbackSubmitted, event: CloudEvent) -> bool:
        return await feedback.given(translate.feedback_given(data, event))

    runtime.on(
        FeedbackSubmitted,
        feedback_submitted,
        aggregate=(feedback.items, lambda data: data.feedback_id),
    )
    runtime.on(
        SurveyAnswered,
        survey_answered,
        aggregate=[(surveys.surveys, lambda data: data.survey_id), erased, by_customer],
    )
