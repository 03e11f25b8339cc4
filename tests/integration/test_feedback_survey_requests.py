"""Survey requests on the real wire protocols: a resolution consumed from Kafka schedules the
CSAT request, the survey sweeper sends it and expires an unanswered NPS, an answer closes
its request, a registration starts the NPS cadence and an ExitAgreed stops it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crm_events import decode
from crm_events.contacts import CustomerRegistered
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintResolved, SurveyAnswered, SurveyExpired, SurveyRequested
from crm_events.offboarding import ExitAgreed
from tests.integration.feedback_fixtures import (
    T0,
    feedback_fixture,  # noqa: F401  (fixture "feedback")
    feedback_settings_fixture,  # noqa: F401  (fixture "feedback_settings")
    golden_record,
)
from tests.support import AGENT, Kafka, eventually

pytestmark = pytest.mark.integration
DAY = timedelta(days=1)


def registration_at_t0() -> bytes:
    golden = load_golden(CustomerRegistered)
    data = {**golden.data, "customer_id": "cus-sv"}
    update = {"id": "reg-sv", "subject": "cus-sv", "time": T0, "data": data}
    return golden.model_copy(update=update).to_bytes()


async def plan(client: Any, customer_id: str) -> dict[str, Any]:
    response = await client.get(f"/customers/{customer_id}/survey-requests", headers=AGENT)
    return dict(response.json()) if response.status_code == 200 else {}


def statuses(found: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((r["kind"], r["status"]) for r in found.get("requests", []))


async def test_requests_are_scheduled_sent_answered_and_expired(
    feedback: Any, kafka: Kafka, ns: str
) -> None:
    resolved = golden_record(
        ComplaintResolved,
        "cc-res-1",
        complaint_id="cmp-cc-1",
        customer_id="cus-sv",
        resolved_at=T0.isoformat(),
    )
    registered = registration_at_t0()
    await kafka.send(ns + CustomerRegistered.topic(), registered, key=b"cus-sv")
    await kafka.send(ns + ComplaintResolved.topic(), resolved, key=b"cus-sv")
    await kafka.send(ns + ComplaintResolved.topic(), resolved, key=b"cus-sv")  # redelivered
    scheduled = await eventually(
        lambda: plan(feedback, "cus-sv"), lambda p: bool(p.get("requests"))
    )
    assert statuses(scheduled) == [("csat", "scheduled")]

    feedback.clock.set(T0 + timedelta(hours=1))
    [sent] = await kafka.read(ns + SurveyRequested.topic(), expected=1)
    request = decode(sent.value)
    assert (request.data["complaint_id"], request.data["kind"]) == ("cmp-cc-1", "csat")
    answer = golden_record(
        SurveyAnswered,
        "tool-ans-1",
        survey_id=request.data["survey_id"],
        customer_id="cus-sv",
        complaint_id="cmp-cc-1",
        answered_at=(T0 + DAY).isoformat(),
    )
    await kafka.send(ns + SurveyAnswered.topic(), answer, key=b"cus-sv")
    answered = await eventually(
        lambda: plan(feedback, "cus-sv"), lambda p: ("csat", "answered") in statuses(p)
    )
    assert answered["response_rate"] == {"csat": 1.0}

    # The NPS cadence started at the registration: due 180 days on, unanswered 14 days later.
    feedback.clock.set(T0 + 200 * DAY)
    await eventually(lambda: plan(feedback, "cus-sv"), lambda p: ("nps", "sent") in statuses(p))
    feedback.clock.set(T0 + 215 * DAY)
    [expired] = await kafka.read(ns + SurveyExpired.topic(), expected=1)
    assert decode(expired.value).data["kind"] == "nps"
    final = await eventually(
        lambda: plan(feedback, "cus-sv"), lambda p: ("nps", "expired") in statuses(p)
    )
    assert final["response_rate"] == {"csat": 1.0, "nps": 0.0}

    exit_agreed = golden_record(ExitAgreed, "exit-sv", customer_id="cus-sv")
    await kafka.send(ns + ExitAgreed.topic(), exit_agreed, key=b"cus-sv")
    ended = await eventually(lambda: plan(feedback, "cus-sv"), lambda p: p["exited_at"] is not None)
    assert ended["next_nps_at"] is None
