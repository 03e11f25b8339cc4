"""Feedback use cases: given over HTTP (published as FeedbackSubmitted) or consumed from other
systems, moved through its workflow by the team, listed by status and product area."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_events import CloudEvent
from crm_events.feedback import FeedbackSubmitted
from crm_feedback import codec, domain, suggestions, translate
from crm_feedback.domain import to_millis
from crm_feedback.suggestions import FeedbackGiven, FeedbackItem, StatusChange
from crm_runtime.clock import Clock
from crm_runtime.errors import NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore

log = get_logger(__name__)


@dataclass(frozen=True)
class NewFeedback:
    feedback_id: str
    customer_id: str
    kind: str
    text: str
    channel: str
    product_area: str | None = None
    sentiment: str | None = None
    submitted_at: datetime | None = None


class FeedbackService:
    def __init__(self, items: AggregateStore[FeedbackItem], clock: Clock, *, source: str) -> None:
        self.items = items
        self._clock = clock
        self._source = source

    def event_id(self, command: str, feedback_id: str, key: str | None) -> str:
        return command_event_id(self._source, command, feedback_id, key)

    def new_feedback_id(self, customer_id: str, key: str | None) -> str:
        return domain.new_entity_id("fb", self._source, customer_id, key)

    async def submit(self, request: NewFeedback, event_id: str) -> FeedbackItem:
        """HTTP: store the feedback and publish FeedbackSubmitted from its outbox."""
        now = to_millis(self._clock.now())
        submitted_at = to_millis(request.submitted_at or now)
        domain.check_not_future(submitted_at, now, "submitted_at")
        data = FeedbackSubmitted.model_validate({**request.__dict__, "submitted_at": submitted_at})
        event = data.to_event(source=self._source, event_id=event_id, time=now)
        fact = translate.feedback_given(data, event)
        if await self._submit(fact, [event]):
            log.info("feedback_submitted", feedback_id=fact.feedback_id, kind=fact.kind)
        return await self.item(fact.feedback_id)

    async def given(self, fact: FeedbackGiven) -> bool:
        """From another system (or our own, relayed back): stored once, never republished."""
        return await self._submit(fact, [])

    async def _submit(self, fact: FeedbackGiven, announce: list[CloudEvent]) -> bool:
        applied = await self.items.apply(
            fact.feedback_id, fact.event_id, lambda s: suggestions.submit(s, fact, announce)
        )
        return applied.applied

    async def change_status(
        self, feedback_id: str, *, status: str, response: str, by: str, event_id: str
    ) -> FeedbackItem:
        change = StatusChange(
            feedback_id, status, response, by, event_id, to_millis(self._clock.now()), self._source
        )
        applied = await self.items.apply(
            feedback_id, event_id, lambda s: suggestions.change_status(s, change)
        )
        if applied.applied:
            log.info("feedback_status_changed", feedback_id=feedback_id, status=status)
        return await self.item(feedback_id)

    async def item(self, feedback_id: str) -> FeedbackItem:
        found = await self.items.get(feedback_id)
        if found is None:
            raise NotFound(f"feedback {feedback_id} not found")
        return found

    async def listed(
        self, *, status: str | None, area: str | None, limit: int
    ) -> list[FeedbackItem]:
        equals = {
            name: value
            for name, value in (("status", status), ("product_area", area))
            if value is not None
        }
        return await codec.feedback_items(self.items.backend, equals=equals, limit=limit)
