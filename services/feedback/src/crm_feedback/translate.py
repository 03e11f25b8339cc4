"""Translators at the edge: wire models (consumed, or built for an HTTP command) become
feedback's own facts, once. A v2 of a wire event changes only this module."""

from __future__ import annotations

from crm_events import CloudEvent
from crm_events.feedback import ComplaintRaised, FeedbackSubmitted, SurveyAnswered
from crm_events.inbound import CustomerReplied
from crm_events.offboarding import PersonalDataErasureRequested, PersonalDataExportRequested
from crm_feedback import portability
from crm_feedback.answers import SurveyAnswer
from crm_feedback.desk import CustomerReply
from crm_feedback.disposal import ErasureRequest
from crm_feedback.domain import ComplaintFiled
from crm_feedback.suggestions import FeedbackGiven


def complaint_filed(data: ComplaintRaised, event: CloudEvent) -> ComplaintFiled:
    """Without ``raised_at`` in the payload the complaint was raised when the event was."""
    return ComplaintFiled(
        event_id=event.id,
        correlation_id=event.correlationid,
        complaint_id=data.complaint_id,
        customer_id=data.customer_id,
        severity=data.severity,
        category=data.category,
        channel=data.channel,
        description=data.description,
        owner_id=data.owner_id,
        raised_at=data.raised_at or event.time,
        first_response_due_at=data.first_response_due_at,
        resolution_due_at=data.resolution_due_at,
        segment=data.segment,
    )


def customer_reply(data: CustomerReplied, event: CloudEvent) -> CustomerReply:
    return CustomerReply(
        event_id=event.id,
        reply_id=data.reply_id,
        customer_id=data.customer_id,
        complaint_id=data.complaint_id,
        kind=data.kind,
        replied_at=data.replied_at,
        reason=data.reason,
    )


def survey_answer(data: SurveyAnswered, event: CloudEvent) -> SurveyAnswer:
    return SurveyAnswer(
        event_id=event.id,
        survey_id=data.survey_id,
        customer_id=data.customer_id,
        trigger=data.trigger,
        answered_at=data.answered_at,
        csat=data.csat,
        nps=data.nps,
        comment=data.comment,
        complaint_id=data.complaint_id,
    )


def feedback_given(data: FeedbackSubmitted, event: CloudEvent) -> FeedbackGiven:
    """Without ``submitted_at`` the feedback was given when the event was."""
    return FeedbackGiven(
        event_id=event.id,
        correlation_id=event.correlationid,
        feedback_id=data.feedback_id,
        customer_id=data.customer_id,
        kind=data.kind,
        text=data.text,
        channel=data.channel.value,
        submitted_at=data.submitted_at or event.time,
        product_area=data.product_area,
        sentiment=data.sentiment,
    )


def erasure_request(data: PersonalDataErasureRequested, event: CloudEvent) -> ErasureRequest:
    return ErasureRequest(event.id, data.customer_id, data.case_id)


def export_request(
    data: PersonalDataExportRequested, event: CloudEvent
) -> portability.ExportRequest:
    return portability.ExportRequest(event.id, data.export_id, data.case_id, data.customer_id)
