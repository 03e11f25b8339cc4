"""Feedback and suggestions on the real wire protocols: given over HTTP and published, given
in another system and consumed from ``crm.feedback.feedback-submitted``, moved through the
workflow with answers, listed for the team by status and product area."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events import decode
from crm_events.feedback import FeedbackStatusChanged, FeedbackSubmitted
from tests.integration.feedback_fixtures import (
    feedback_fixture,  # noqa: F401  (fixture "feedback")
    feedback_settings_fixture,  # noqa: F401  (fixture "feedback_settings")
    golden_record,
)
from tests.support import AGENT, MANAGER, Kafka, consumed, eventually

pytestmark = pytest.mark.integration
IDEA = {
    "customer_id": "cus-300",
    "kind": "suggestion",
    "text": "Please offer invoices as PDF.",
    "channel": "chat",
    "product_area": "billing",
    "sentiment": "neutral",
}


async def listed(client: Any, query: str) -> list[str]:
    response = await client.get(f"/feedback{query}", headers=AGENT)
    assert response.status_code == 200, response.text
    return [item["feedback_id"] for item in response.json()["items"]]


async def test_feedback_is_given_acted_on_and_listed(feedback: Any, kafka: Kafka, ns: str) -> None:
    given = await feedback.post(
        "/feedback",
        json={**IDEA, "feedback_id": "fb-300"},
        headers={**AGENT, "Idempotency-Key": "k"},
    )
    assert given.status_code == 201, given.text
    assert given.json()["status"] == "new"
    external = golden_record(
        FeedbackSubmitted,
        "ext-fb-1",
        feedback_id="fb-301",
        customer_id="cus-301",
        kind="problem",
        product_area="mobile_app",
        sentiment="negative",
    )
    await kafka.send(ns + FeedbackSubmitted.topic(), external, key=b"cus-301")
    await kafka.send(ns + FeedbackSubmitted.topic(), external, key=b"cus-301")
    stored = await eventually(lambda: listed(feedback, "?area=mobile_app"), lambda ids: ids != [])
    assert stored == ["fb-301"]

    step = await feedback.post(
        "/feedback/fb-300/status",
        json={"status": "reviewed", "response": "We are looking at it.", "changed_by": "emp-9"},
        headers=MANAGER,
    )
    assert step.status_code == 200, step.text
    skipped = await feedback.post(
        "/feedback/fb-300/status",
        json={"status": "reviewed", "response": "again", "changed_by": "emp-9"},
        headers=MANAGER,
    )
    assert skipped.status_code == 409, skipped.text
    assert await listed(feedback, "?status=reviewed&area=billing") == ["fb-300"]
    assert await listed(feedback, "?status=new") == ["fb-301"]

    records = await kafka.read(ns + FeedbackSubmitted.topic(), expected=3)  # ours + 2 sent
    events = [decode(record.value) for record in records]
    [ours] = [event for event in events if event.data["feedback_id"] == "fb-300"]
    assert ours.data["kind"] == "suggestion"
    [changed] = await kafka.read(ns + FeedbackStatusChanged.topic(), expected=1)
    assert decode(changed.value).data["response"] == "We are looking at it."
    # Our own FeedbackSubmitted came back and the external copy was redelivered: no effect.
    assert await eventually(lambda: consumed(feedback, "duplicate"), lambda n: n >= 2) >= 2
