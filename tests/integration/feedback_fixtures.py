"""Fixtures and record builders for the feedback integration tests (import what you use)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events.base import EventData
from crm_events.common import Severity
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintRaised, SurveyAnswered
from crm_feedback.app import create_app
from crm_feedback.settings import FeedbackSettings
from crm_runtime.clock import ManualClock
from tests.support import serving

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# These tests check the clocks' mechanics in wall-clock hours; business calendars have their
# own (test_feedback_desk.py).
ROUND_THE_CLOCK = {severity: "24x7" for severity in Severity}


@pytest.fixture(name="feedback_settings")
def feedback_settings_fixture(make_settings: Callable[..., Any]) -> FeedbackSettings:
    settings: FeedbackSettings = make_settings(
        FeedbackSettings, sla_calendar_by_severity=ROUND_THE_CLOCK
    )
    return settings


@pytest.fixture(name="feedback")
async def feedback_fixture(feedback_settings: FeedbackSettings) -> AsyncIterator[Any]:
    """The feedback app in-process on a manual clock; ``client.clock`` moves time."""
    clock = ManualClock(T0)
    app = create_app(feedback_settings, clock=clock)
    async with serving(app) as client:
        client.app = app
        client.clock = clock
        yield client


def golden_record(model: type[EventData], event_id: str, **data: Any) -> bytes:
    """The committed golden example with a new id and payload fields (subject follows)."""
    golden = load_golden(model)
    payload = {**golden.data, **data}
    return golden.model_copy(
        update={"id": event_id, "subject": payload["customer_id"], "data": payload}
    ).to_bytes()


def external_complaint(event_id: str, complaint_id: str, **data: Any) -> bytes:
    """A ComplaintRaised from the call centre, raised half an hour before T0."""
    raised_at = T0 - timedelta(minutes=30)
    fields = {
        "complaint_id": complaint_id,
        "customer_id": "cus-ext",
        "owner_id": "emp-5",
        "raised_at": raised_at.isoformat(),
        "first_response_due_at": (raised_at + timedelta(hours=1)).isoformat(),
        "resolution_due_at": (raised_at + timedelta(hours=8)).isoformat(),
        **data,
    }
    return golden_record(ComplaintRaised, event_id, **fields)


def external_survey(event_id: str, survey_id: str, **data: Any) -> bytes:
    fields = {
        "survey_id": survey_id,
        "customer_id": "cus-s",
        "complaint_id": None,
        "trigger": "periodic",
        "answered_at": (T0 - timedelta(days=1)).isoformat(),
        **data,
    }
    return golden_record(SurveyAnswered, event_id, **fields)
