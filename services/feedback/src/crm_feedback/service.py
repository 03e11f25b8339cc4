"""Complaint use cases: HTTP commands, consumed ComplaintRaised and the SLA sweeper meet
here, each one decision applied to one complaint by the aggregate store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from crm_events import CloudEvent, deterministic_event_id
from crm_events.common import Channel, Severity
from crm_events.feedback import ComplaintRaised, ComplaintReassigned
from crm_feedback import codec, decisions, domain, translate
from crm_feedback.decisions import Command
from crm_feedback.desk import CustomerReply
from crm_feedback.domain import Complaint, ComplaintFiled, to_millis
from crm_feedback.ownership import Replacement
from crm_feedback.sla import SlaPolicy
from crm_runtime.clock import Clock
from crm_runtime.errors import NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore, Decision

log = get_logger(__name__)
Rule = Callable[[Complaint | None], Decision[Complaint]]
_LOG_EVENTS = {
    "complaint-sla-warning": "complaint_sla_warning",
    "complaint-sla-breached": "complaint_sla_breached",
    "complaint-escalated": "complaint_escalated",
}


@dataclass(frozen=True)
class NewComplaint:
    complaint_id: str
    customer_id: str
    severity: Severity
    category: str
    channel: Channel
    description: str
    owner_id: str
    raised_at: datetime | None = None
    segment: str | None = None


class ComplaintService:
    def __init__(
        self,
        complaints: AggregateStore[Complaint],
        clock: Clock,
        *,
        policy: SlaPolicy,
        source: str,
        replacement: Replacement | None = None,
    ) -> None:
        self.complaints = complaints
        self._clock = clock
        self._policy = policy
        self._source = source
        self.replacement = replacement

    def event_id(self, command: str, complaint_id: str, key: str | None) -> str:
        return command_event_id(self._source, command, complaint_id, key)

    def new_complaint_id(self, customer_id: str, key: str | None) -> str:
        return domain.new_entity_id("cmp", self._source, customer_id, key)

    def _now(self) -> datetime:
        return to_millis(self._clock.now())

    async def _apply(self, complaint_id: str, event_id: str, rule: Rule) -> bool:
        return (await self.complaints.apply(complaint_id, event_id, rule)).applied

    # --- commands (HTTP): the command's event is published from the complaint's outbox --
    async def raise_complaint(self, request: NewComplaint, event_id: str) -> Complaint:
        now = self._now()
        raised_at = to_millis(request.raised_at or now)
        domain.check_not_future(raised_at, now, "raised_at")
        named, instead = request.owner_id, await self._instead(request.customer_id, request)
        request = replace(request, owner_id=instead or named)
        first_response_due, resolution_due = self._policy.deadlines(
            request.severity, raised_at, request.segment
        )
        data = ComplaintRaised(
            **{**asdict(request), "raised_at": raised_at},
            first_response_due_at=first_response_due,
            resolution_due_at=resolution_due,
        )
        event = data.to_event(source=self._source, event_id=event_id, time=now)
        fact = translate.complaint_filed(data, event)
        if instead is not None:
            fact = replace(fact, named_owner_id=named)
        if await self._file(fact, [event]):
            log.info("complaint_raised", complaint_id=data.complaint_id, severity=data.severity)
        return await self.complaint(data.complaint_id)

    async def acknowledge(self, complaint_id: str, *, by: str, event_id: str) -> Complaint:
        now, source, policy = self._now(), self._source, self._policy
        rule: Rule = lambda s: decisions.acknowledge(  # noqa: E731
            s, complaint_id, by=by, event_id=event_id, now=now, source=source, policy=policy
        )
        await self._apply(complaint_id, event_id, rule)
        return await self.complaint(complaint_id)

    async def resolve(
        self, complaint_id: str, *, by: str, resolution: str, event_id: str
    ) -> Complaint:
        now, source, policy = self._now(), self._source, self._policy
        rule: Rule = lambda s: decisions.resolve(  # noqa: E731
            s,
            complaint_id,
            by=by,
            resolution=resolution,
            event_id=event_id,
            now=now,
            source=source,
            policy=policy,
        )
        await self._apply(complaint_id, event_id, rule)
        return await self.complaint(complaint_id)

    async def pause(self, complaint_id: str, *, reason: str, by: str, event_id: str) -> Complaint:
        command = self._command(complaint_id, event_id)
        rule: Rule = lambda s: decisions.pause(s, command, reason=reason, by=by)  # noqa: E731
        if await self._apply(complaint_id, event_id, rule):
            log.info("complaint_paused", complaint_id=complaint_id)
        return await self.complaint(complaint_id)

    async def resume(self, complaint_id: str, *, by: str, event_id: str) -> Complaint:
        command, policy = self._command(complaint_id, event_id), self._policy
        rule: Rule = lambda s: decisions.resume(s, command, by=by, policy=policy)  # noqa: E731
        if await self._apply(complaint_id, event_id, rule):
            log.info("complaint_resumed", complaint_id=complaint_id, trigger="agent")
        return await self.complaint(complaint_id)

    async def reopen(
        self, complaint_id: str, *, reason: str, by: str | None, event_id: str
    ) -> Complaint:
        command, policy = self._command(complaint_id, event_id), self._policy
        rule: Rule = lambda s: decisions.reopen(  # noqa: E731
            s, command, reason=reason, by=by, policy=policy
        )
        if await self._apply(complaint_id, event_id, rule):
            log.info("complaint_reopened", complaint_id=complaint_id)
        return await self.complaint(complaint_id)

    def _command(self, complaint_id: str, event_id: str, cause: str | None = None) -> Command:
        return Command(complaint_id, event_id, self._now(), self._source, cause)

    # --- facts (consumed events, translated at the edge) ----------------------------------
    async def filed(self, fact: ComplaintFiled) -> bool:
        """Stored with the deadlines it carries: the publisher is accountable for them. An
        owner who has left is replaced by the departure rule, and the move is published."""
        instead = await self._instead(fact.customer_id, fact)
        if instead is None:
            return await self._file(fact, [])
        moved = replace(fact, owner_id=instead, named_owner_id=fact.owner_id)
        return await self._file(moved, [self._handed_over(moved)])

    async def _instead(self, customer_id: str, filing: NewComplaint | ComplaintFiled) -> str | None:
        if self.replacement is None:
            return None
        return await self.replacement(customer_id, filing.owner_id)

    def _handed_over(self, fact: ComplaintFiled) -> CloudEvent:
        assert fact.named_owner_id is not None
        data = ComplaintReassigned(
            complaint_id=fact.complaint_id,
            customer_id=fact.customer_id,
            previous_owner_id=fact.named_owner_id,
            new_owner_id=fact.owner_id,
            reason="employee_departed",
        )
        return data.to_event(
            source=self._source,
            event_id=deterministic_event_id(fact.event_id, "departed-owner", fact.complaint_id),
            time=self._now(),
            correlation_id=fact.correlation_id,
            causation_id=fact.event_id,
        )

    async def _file(self, fact: ComplaintFiled, announce: list[CloudEvent]) -> bool:
        policy = self._policy
        rule: Rule = lambda s: decisions.file_complaint(  # noqa: E731
            s, fact, policy=policy, announce=announce
        )
        return await self._apply(fact.complaint_id, fact.event_id, rule)

    async def replied(self, reply: CustomerReply) -> bool:
        """The customer's answer resumes a paused complaint; a dispute reopens a resolved one.
        The derived event's id comes from the reply, so a redelivery publishes it once."""
        event_id = deterministic_event_id(reply.event_id, "complaint-reply")
        command = self._command(reply.complaint_id, event_id, cause=reply.event_id)
        policy = self._policy
        rule: Rule = lambda s: decisions.customer_replied(  # noqa: E731
            s, reply, command, policy=policy
        )
        applied = await self._apply(reply.complaint_id, reply.event_id, rule)
        if applied:
            log.info("complaint_reply_seen", complaint_id=reply.complaint_id, kind=reply.kind)
        return applied

    # --- timer (runtime sweeper) -----------------------------------------------------------
    async def on_due(self, complaint: Complaint, now: datetime) -> None:
        """Publish the warnings/breaches/escalations due at ``now``; safe to repeat."""
        now = to_millis(now)
        published: list[CloudEvent] = []

        def rule(state: Complaint | None) -> Decision[Complaint]:
            decision = decisions.sweep(state, now, policy=self._policy, source=self._source)
            published[:] = decision.publish
            return decision

        sweep_id = decisions.sweep_id(complaint, self._source)
        if await self._apply(complaint.complaint_id, sweep_id, rule):
            for event in published:
                kind = _LOG_EVENTS[event.type.split(".")[2]]
                log.info(kind, complaint_id=complaint.complaint_id, clock=event.data.get("clock"))

    # --- queries -------------------------------------------------------------------------------
    async def complaint(self, complaint_id: str) -> Complaint:
        found = await self.complaints.get(complaint_id)
        if found is None:
            raise NotFound(f"complaint {complaint_id} not found")
        return found

    def business_time_left(self, complaint: Complaint) -> dict[str, int]:
        """Business seconds left on each running clock (frozen while paused; negative when
        the deadline passed unswept)."""
        calendar = self._policy.calendar_of(complaint)
        now = complaint.paused_at or self._now()
        left: dict[str, int] = {}
        for name, clock in complaint.clocks.items():
            if clock.running and complaint.status != domain.RESOLVED:
                ahead = calendar.between(now, clock.due_at) - calendar.between(clock.due_at, now)
                left[name] = int(ahead.total_seconds())
        return left

    async def desk_queue(
        self, *, owner_id: str | None, severity: str | None, state: str | None, limit: int
    ) -> list[Complaint]:
        filters = (("owner_id", owner_id), ("severity", severity), ("desk_state", state))
        equals = {name: value for name, value in filters if value is not None}
        return await codec.desk_queue(self.complaints.backend, equals=equals, limit=limit)

    async def near_breach(self, *, within: timedelta, limit: int) -> list[Complaint]:
        """Running complaints with at most ``within`` *business* time left on a clock: one
        query for the ``limit`` soonest deadlines, cut at the latest moment any calendar
        could put the edge, then each complaint judged on its own calendar."""
        now = self._now()
        edge = max(calendar.add(now, within) for calendar in self._policy.calendars.values())
        found = await codec.near_breach(self.complaints.backend, until=edge, limit=limit)
        window = int(within.total_seconds())
        return [c for c in found if min(self.business_time_left(c).values(), default=0) <= window]

    async def complaints_of_customer(
        self, customer_id: str, *, status: str | None, limit: int
    ) -> list[Complaint]:
        return await codec.complaints(
            self.complaints.backend, equals={"customer_id": customer_id}, status=status, limit=limit
        )

    async def complaints_of_owner(
        self, owner_id: str, *, status: str | None, limit: int
    ) -> list[Complaint]:
        return await codec.complaints(
            self.complaints.backend, equals={"owner_id": owner_id}, status=status, limit=limit
        )
