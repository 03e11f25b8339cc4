"""Golden examples of the feedback context: one complaint from raise to survey."""

from __future__ import annotations

from crm_events.base import EventData
from crm_events.contacts import AccountOwnerChanged
from crm_events.examples._spec import COLLEAGUE, CUSTOMER, MANAGER, OWNER, Example
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

COMPLAINT = "cmp-3001"

EXAMPLES: dict[type[EventData], Example] = {
    ComplaintRaised: Example(
        time="2025-03-03T09:15:00Z",
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "severity": "high",
            "category": "billing",
            "channel": "email",
            "description": "Invoice charged twice for the same order.",
            "owner_id": COLLEAGUE,
            "first_response_due_at": "2025-03-03T13:15:00Z",
            "resolution_due_at": "2025-03-05T09:15:00Z",
            "raised_at": "2025-03-03T09:14:30Z",
        },
    ),
    ComplaintAcknowledged: Example(
        time="2025-03-03T10:02:00Z",
        caused_by=ComplaintRaised,
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "acknowledged_by": COLLEAGUE,
            "acknowledged_at": "2025-03-03T10:02:00Z",
        },
    ),
    ComplaintSlaWarning: Example(
        time="2025-03-05T07:15:00Z",
        caused_by=ComplaintRaised,
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "clock": "resolution",
            "due_at": "2025-03-05T09:15:00Z",
            "remaining_seconds": 7200,
            "owner_id": COLLEAGUE,
        },
    ),
    ComplaintSlaBreached: Example(
        time="2025-03-05T09:15:03Z",
        caused_by=ComplaintRaised,
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "clock": "resolution",
            "due_at": "2025-03-05T09:15:00Z",
            "breached_at": "2025-03-05T09:15:03Z",
            "owner_id": COLLEAGUE,
        },
    ),
    ComplaintEscalated: Example(
        time="2025-03-05T09:15:04Z",
        caused_by=ComplaintSlaBreached,
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "level": 1,
            "escalated_to": MANAGER,
            "reason": "resolution SLA breached",
            "previous_owner_id": COLLEAGUE,
        },
    ),
    ComplaintResolved: Example(
        time="2025-03-05T15:40:00Z",
        caused_by=ComplaintEscalated,
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "resolved_by": MANAGER,
            "resolution": "Duplicate charge refunded; apology and goodwill points granted.",
            "resolved_at": "2025-03-05T15:40:00Z",
            "within_sla": False,
            "severity": "high",
        },
    ),
    SurveyAnswered: Example(
        time="2025-03-07T12:00:00Z",
        caused_by=ComplaintResolved,
        data={
            "survey_id": "srv-9001",
            "customer_id": CUSTOMER,
            "trigger": "complaint_resolved",
            "csat": 4,
            "nps": 7,
            "comment": "Took a while, but the refund was handled well.",
            "complaint_id": COMPLAINT,
            "answered_at": "2025-03-07T11:58:00Z",
        },
    ),
    FeedbackSubmitted: Example(
        time="2025-02-10T16:00:00Z",
        data={
            "feedback_id": "fb-4001",
            "customer_id": CUSTOMER,
            "kind": "suggestion",
            "text": "Please offer invoices as PDF attachments.",
            "channel": "chat",
            "submitted_at": "2025-02-10T15:59:00Z",
            "product_area": "billing",
            "sentiment": "neutral",
        },
    ),
    FeedbackStatusChanged: Example(
        time="2025-02-12T10:00:00Z",
        caused_by=FeedbackSubmitted,
        data={
            "feedback_id": "fb-4001",
            "customer_id": CUSTOMER,
            "status": "planned",
            "previous_status": "reviewed",
            "response": "PDF invoices are planned for the April release.",
            "changed_by": MANAGER,
            "changed_at": "2025-02-12T10:00:00Z",
            "product_area": "billing",
        },
    ),
    ComplaintPaused: Example(
        time="2025-03-03T10:05:00Z",
        caused_by=ComplaintRaised,
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "pause_number": 1,
            "reason": "waiting for a copy of both bank statements",
            "paused_by": COLLEAGUE,
            "paused_at": "2025-03-03T10:05:00Z",
        },
    ),
    ComplaintResumed: Example(
        time="2025-03-04T11:05:00Z",
        caused_by=ComplaintPaused,
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "pause_number": 1,
            "trigger": "customer_reply",
            "paused_at": "2025-03-03T10:05:00Z",
            "resumed_at": "2025-03-04T11:05:00Z",
            "paused_seconds": 32400,
            "resolution_due_at": "2025-03-05T18:15:00Z",
        },
    ),
    ComplaintReopened: Example(
        time="2025-03-10T08:30:00Z",
        caused_by=ComplaintResolved,
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "reopen_count": 1,
            "reason": "the refund never arrived",
            "reopened_at": "2025-03-10T08:30:00Z",
            "previous_resolved_at": "2025-03-05T15:40:00Z",
            "resolution_due_at": "2025-03-13T08:30:00Z",
            "owner_id": COLLEAGUE,
        },
    ),
    SurveyRequested: Example(
        time="2025-03-05T16:40:00Z",
        caused_by=ComplaintResolved,
        data={
            "survey_id": "srv-9001",
            "customer_id": CUSTOMER,
            "kind": "csat",
            "trigger": "complaint_resolved",
            "channel": "email",
            "requested_at": "2025-03-05T16:40:00Z",
            "due_at": "2025-03-19T16:40:00Z",
            "complaint_id": COMPLAINT,
        },
    ),
    SurveyExpired: Example(
        time="2025-09-15T08:00:00Z",
        data={
            "survey_id": "srv-5002",
            "customer_id": CUSTOMER,
            "kind": "nps",
            "requested_at": "2025-09-01T08:00:00Z",
            "expired_at": "2025-09-15T08:00:00Z",
        },
    ),
    ComplaintReassigned: Example(
        time="2025-02-28T18:00:03Z",
        caused_by=AccountOwnerChanged,
        data={
            "complaint_id": COMPLAINT,
            "customer_id": CUSTOMER,
            "previous_owner_id": OWNER,
            "new_owner_id": COLLEAGUE,
            "reason": "employee_departed",
        },
    ),
}
