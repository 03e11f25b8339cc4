"""Feedback and suggestions through the real wiring over the in-memory store: given over
HTTP (published) or consumed (stored once), moved new → reviewed → planned → done | declined
with an answer at each step, listed by status and product area."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_events.common import Channel
from crm_events.feedback import FeedbackStatusChanged, FeedbackSubmitted
from crm_feedback.suggestion_service import NewFeedback
from crm_runtime.errors import Conflict, DomainError, NotFound
from tests.unit.feedback_plugin import FEEDBACK_NOW as T0
from tests.unit.feedback_plugin import Feedback

pytestmark = pytest.mark.unit


def idea(
    feedback_id: str = "fb-1", area: str | None = "billing", kind: str = "suggestion"
) -> NewFeedback:
    return NewFeedback(
        feedback_id=feedback_id,
        customer_id="cus-1",
        kind=kind,
        text="PDF invoices please",
        channel="chat",
        product_area=area,
        sentiment="neutral",
    )


def published(feedback_unit: Feedback, model: type) -> list[dict[str, object]]:
    events = feedback_unit.published("feedback")
    return [e.data for e in events if e.type == model.event_type()]


async def test_submitted_feedback_is_stored_new_and_published(feedback_unit: Feedback) -> None:
    item = await feedback_unit.feedback.submit(idea(), "evt-fb")
    again = await feedback_unit.feedback.submit(idea(), "evt-fb")

    assert (item.status, item.kind, item.product_area) == ("new", "suggestion", "billing")
    assert again == item
    [data] = published(feedback_unit, FeedbackSubmitted)
    assert data["sentiment"] == "neutral"
    assert data["submitted_at"] == "2026-03-02T09:00:00Z"


async def test_each_step_answers_the_customer_and_is_a_fact(feedback_unit: Feedback) -> None:
    service = feedback_unit.feedback
    await service.submit(idea(), "evt-fb")
    feedback_unit.clock.advance(timedelta(hours=2))
    await service.change_status(
        "fb-1", status="reviewed", response="Thanks, we look at it.", by="emp-1", event_id="s1"
    )
    await service.change_status(
        "fb-1", status="planned", response="Coming in April.", by="emp-2", event_id="s2"
    )
    done = await service.change_status(
        "fb-1", status="done", response="Live now.", by="emp-2", event_id="s3"
    )

    assert done.status == "done"
    assert [r.response for r in done.responses.values()] == [
        "Thanks, we look at it.",
        "Coming in April.",
        "Live now.",
    ]
    steps = published(feedback_unit, FeedbackStatusChanged)
    assert [(s["previous_status"], s["status"]) for s in steps] == [
        ("new", "reviewed"),
        ("reviewed", "planned"),
        ("planned", "done"),
    ]
    assert steps[0]["changed_at"] == "2026-03-02T11:00:00Z"


async def test_the_workflow_refuses_skipped_or_repeated_steps(feedback_unit: Feedback) -> None:
    service = feedback_unit.feedback
    await service.submit(idea(), "evt-fb")
    with pytest.raises(Conflict, match="is new; it can move to reviewed, declined"):
        await service.change_status("fb-1", status="planned", response="x", by="e", event_id="a")
    await service.change_status("fb-1", status="declined", response="No.", by="e", event_id="b")
    with pytest.raises(Conflict, match="nothing \\(final\\)"):
        await service.change_status("fb-1", status="reviewed", response="x", by="e", event_id="c")
    with pytest.raises(NotFound):
        await service.change_status("fb-9", status="reviewed", response="x", by="e", event_id="d")


async def test_feedback_from_the_future_is_refused(feedback_unit: Feedback) -> None:
    future = NewFeedback(**{**idea().__dict__, "submitted_at": T0 + timedelta(hours=1)})
    with pytest.raises(DomainError, match="submitted_at lies in the future"):
        await feedback_unit.feedback.submit(future, "evt-fb")


async def test_consumed_feedback_is_stored_once_and_not_republished(
    feedback_unit: Feedback,
) -> None:
    data = FeedbackSubmitted(
        feedback_id="fb-ext",
        customer_id="cus-2",
        kind="problem",
        text="The app crashes on login",
        channel=Channel.SOCIAL,
        product_area="mobile_app",
        sentiment="negative",
    )
    event = data.to_event(source="/social", event_id="ext-1", time=T0)

    assert await feedback_unit.deliver(event) == "applied"
    assert await feedback_unit.deliver(event) == "duplicate"
    other = data.model_copy(update={"text": "another text"}).to_event(
        source="/social", event_id="ext-2", time=T0
    )
    assert (await feedback_unit.deliver(other)).startswith("dlq:conflict")
    assert published(feedback_unit, FeedbackSubmitted) == []
    stored = await feedback_unit.feedback.item("fb-ext")
    assert (stored.kind, stored.submitted_at) == ("problem", T0)


async def test_the_team_lists_feedback_by_status_and_area(feedback_unit: Feedback) -> None:
    service = feedback_unit.feedback
    for n, area in enumerate(["billing", "delivery", "billing"]):
        feedback_unit.clock.advance(timedelta(minutes=1))
        await service.submit(idea(f"fb-{n}", area), f"evt-{n}")
    await service.change_status("fb-2", status="reviewed", response="ok", by="e", event_id="s")

    def ids(items: list) -> list[str]:  # type: ignore[type-arg]
        return [item.feedback_id for item in items]

    assert ids(await service.listed(status=None, area=None, limit=10)) == ["fb-2", "fb-1", "fb-0"]
    assert ids(await service.listed(status="new", area="billing", limit=10)) == ["fb-0"]
    assert ids(await service.listed(status=None, area="billing", limit=1)) == ["fb-2"]
    assert ids(await service.listed(status="reviewed", area=None, limit=10)) == ["fb-2"]
