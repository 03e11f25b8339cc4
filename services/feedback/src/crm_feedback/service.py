"""Complaint use cases: HTTP commands, consumed ComplaintRaised and the SLA sweeper meet here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from crm_events import CloudEvent, deterministic_event_id
from crm_events.base import EventData
from crm_events.common import Channel, Severity
from crm_events.feedback import ComplaintRaised
from crm_feedback import domain, sla
from crm_feedback.domain import Complaint, to_millis
from crm_feedback.ports import ComplaintRepository
from crm_feedback.sla import SlaPolicy
from crm_runtime.clock import Clock
from crm_runtime.errors import Conflict, NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.logging import get_logger

# Optimistic concurrency: a transition re-reads and retries when another writer won.
MAX_ATTEMPTS = 5
Step = Callable[[Complaint, datetime], tuple[Complaint, EventData]]
log = get_logger(__name__)
_LOG_EVENTS = {
    "sla-warning": "complaint_sla_warning",
    "sla-breached": "complaint_sla_breached",
    "escalated": "complaint_escalated",
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


class ComplaintService:
    def __init__(
        self,
        repository: ComplaintRepository,
        clock: Clock,
        *,
        policy: SlaPolicy,
        source: str,
        on_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._policy = policy
        self._source = source
        self._on_outbox = on_outbox

    def event_id(self, command: str, complaint_id: str, key: str | None) -> str:
        return command_event_id(self._source, command, complaint_id, key)

    def new_complaint_id(self, customer_id: str, key: str | None) -> str:
        return domain.new_entity_id("cmp", self._source, customer_id, key)

    def _now(self) -> datetime:
        return to_millis(self._clock.now())

    # --- commands (HTTP) ----------------------------------------------------------------
    async def raise_complaint(self, request: NewComplaint, event_id: str) -> Complaint:
        now = self._now()
        raised_at = to_millis(request.raised_at or now)
        domain.check_not_future(raised_at, now, "raised_at")
        first_response_due, resolution_due = self._policy.deadlines(request.severity, raised_at)
        data = ComplaintRaised(
            **{**asdict(request), "raised_at": raised_at},
            first_response_due_at=first_response_due,
            resolution_due_at=resolution_due,
        )
        event = data.to_event(source=self._source, event_id=event_id, time=now)
        if await self._store_raised(data, event, publish=True):
            log.info("complaint_raised", complaint_id=data.complaint_id, severity=data.severity)
        return await self.complaint(data.complaint_id)

    async def acknowledge(self, complaint_id: str, *, by: str, event_id: str) -> Complaint:
        return await self._transition(
            complaint_id, event_id, lambda c, now: domain.acknowledge(c, by=by, at=now)
        )

    async def resolve(
        self, complaint_id: str, *, by: str, resolution: str, event_id: str
    ) -> Complaint:
        return await self._transition(
            complaint_id,
            event_id,
            lambda c, now: domain.resolve(c, by=by, resolution=resolution, at=now),
        )

    # --- consumed events (other systems, or our own relayed events coming back) ---------
    async def on_complaint_raised(self, data: ComplaintRaised, event: CloudEvent) -> bool:
        """Stored with the deadlines it carries: the publisher is accountable for them."""
        return await self._store_raised(data, event, publish=False)

    # --- timer (runtime sweeper) ---------------------------------------------------------
    async def on_due(self, complaint_id: str, now: datetime) -> None:
        """Publish the warnings/breaches/escalations due at ``now``; safe to repeat."""
        now = to_millis(now)
        for _ in range(MAX_ATTEMPTS):
            current = await self._repo.get(complaint_id)
            if current is None:
                return
            changed, fired = sla.sweep(current, now, self._policy)
            events = [self._fired_event(current, item, now) for item in fired]
            if await self._repo.save(
                changed, expected_version=current.version, cause_id=None, at=now, outbox=events
            ):
                self._published(events)
                for item in fired:
                    log.info(_LOG_EVENTS[item.kind], complaint_id=complaint_id, clock=item.clock)
                return
        raise Conflict(f"complaint {complaint_id} kept changing during the SLA sweep")

    # --- queries -------------------------------------------------------------------------
    async def complaint(self, complaint_id: str) -> Complaint:
        found = await self._repo.get(complaint_id)
        if found is None:
            raise NotFound(f"complaint {complaint_id} not found")
        return found

    async def complaints_of_customer(
        self, customer_id: str, *, status: str | None, limit: int
    ) -> list[Complaint]:
        return await self._repo.find(customer_id=customer_id, status=status, limit=limit)

    async def complaints_of_owner(
        self, owner_id: str, *, status: str | None, limit: int
    ) -> list[Complaint]:
        return await self._repo.find(owner_id=owner_id, status=status, limit=limit)

    # --- shared steps --------------------------------------------------------------------
    async def _store_raised(
        self, data: ComplaintRaised, event: CloudEvent, *, publish: bool
    ) -> bool:
        complaint = domain.open_complaint(
            data,
            raised_at=data.raised_at or event.time,
            event_id=event.id,
            correlation_id=event.correlationid,
            warning_fraction=self._policy.warning_fraction,
        )
        outbox = [event] if publish else []
        applied = await self._repo.add(complaint, outbox)
        if applied:
            self._published(outbox)
        return applied

    async def _transition(self, complaint_id: str, event_id: str, step: Step) -> Complaint:
        """Load → pure transition → one guarded write with its event; retry a stale read."""
        for _ in range(MAX_ATTEMPTS):
            current = await self.complaint(complaint_id)
            now = self._now()
            try:
                changed, fact = step(current, now)
            except Conflict:
                # A retried command (same Idempotency-Key) that already applied is fine.
                if await self._repo.was_applied(complaint_id, event_id):
                    return current
                raise
            event = self._derived(fact, event_id, now, current, current.raised_event_id)
            if await self._repo.save(
                changed, expected_version=current.version, cause_id=event_id, at=now, outbox=[event]
            ):
                self._published([event])
                return replace(changed, version=current.version + 1)
        raise Conflict(f"complaint {complaint_id} is being changed concurrently; retry")

    def _fired_event(self, complaint: Complaint, item: sla.Fired, now: datetime) -> CloudEvent:
        # Ids derive from (complaint, clock, kind): a repeated sweep re-creates the same event.
        event_id = self._timer_event_id(complaint.complaint_id, item.clock, item.kind)
        cause = (
            self._timer_event_id(complaint.complaint_id, item.clock, "sla-breached")
            if item.kind == "escalated"
            else complaint.raised_event_id
        )
        return self._derived(item.fact, event_id, now, complaint, cause)

    def _timer_event_id(self, complaint_id: str, clock: str, kind: str) -> str:
        return deterministic_event_id(self._source, "complaint", complaint_id, clock, kind)

    def _derived(
        self, fact: EventData, event_id: str, now: datetime, complaint: Complaint, cause_id: str
    ) -> CloudEvent:
        """Every event of a complaint shares the correlation id of its ComplaintRaised."""
        return fact.to_event(
            source=self._source,
            event_id=event_id,
            time=now,
            correlation_id=complaint.correlation_id,
            causation_id=cause_id,
        )

    def _published(self, events: list[CloudEvent]) -> None:
        if events:
            self._on_outbox()
