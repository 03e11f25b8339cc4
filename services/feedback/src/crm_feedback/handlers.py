"""Consumed topics → translator → one service call. Validation, business keys and DLQ
routing happen in the runtime; a complaint fact touches its complaint, an answer its survey."""

from __future__ import annotations

from crm_events import CloudEvent
from crm_events.feedback import ComplaintRaised, SurveyAnswered
from crm_events.offboarding import (
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
from crm_feedback.service import ComplaintService
from crm_feedback.surveys import SurveyService
from crm_runtime.app import ServiceRuntime


def register_handlers(
    runtime: ServiceRuntime,
    complaints: ComplaintService,
    surveys: SurveyService,
    disposals: DisposalService,
    exports: PortabilityService,
    ending: EndOfRelationship,
) -> None:
    # A fact about an erased customer (late, or replayed) is stored without its free text.
    async def complaint_raised(data: ComplaintRaised, event: CloudEvent) -> bool:
        erased = await disposals.erased(data.customer_id)
        fact = disposal.filed_after_erasure(translate.complaint_filed(data, event), erased)
        return await complaints.filed(fact)

    async def survey_answered(data: SurveyAnswered, event: CloudEvent) -> bool:
        erased = await disposals.erased(data.customer_id)
        fact = disposal.answered_after_erasure(translate.survey_answer(data, event), erased)
        return await surveys.answered(fact)

    async def erasure_requested(data: PersonalDataErasureRequested, event: CloudEvent) -> bool:
        return await disposals.erasure_requested(translate.erasure_request(data, event))

    async def export_requested(data: PersonalDataExportRequested, event: CloudEvent) -> bool:
        return await exports.export_requested(translate.export_request(data, event))

    async def relationship_ended(data: RelationshipEnded, event: CloudEvent) -> bool:
        return await ending.ended(event.id, data.customer_id, data.case_id)

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
        aggregate=(complaints.complaints, lambda data: data.complaint_id),
    )
    runtime.on(
        SurveyAnswered, survey_answered, aggregate=(surveys.surveys, lambda data: data.survey_id)
    )
