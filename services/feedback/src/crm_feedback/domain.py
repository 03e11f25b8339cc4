"""Feedback domain: complaints with their SLA clocks. Pure, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from crm_events import deterministic_event_id
from crm_events.common import Channel, Severity
from crm_events.feedback import ComplaintAcknowledged, ComplaintResolved
from crm_events.feedback import SlaClock as ClockName
from crm_feedback.business_time import BusinessCalendar
from crm_runtime.errors import Conflict, DomainError, Unprocessable

FIRST_RESPONSE: ClockName = "first_response"
RESOLUTION: ClockName = "resolution"
CLOCKS: tuple[ClockName, ...] = (FIRST_RESPONSE, RESOLUTION)
OPEN = "open"
RESOLVED = "resolved"
# Facts may be stamped a little ahead of our clock (skew) but not in the future.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def to_millis(moment: datetime) -> datetime:
    """Every time we store or publish has millisecond precision (what JSON consumers such as
    JavaScript's Date keep), so a deadline read back from an event equals the stored one."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def new_entity_id(prefix: str, source: str, customer_id: str, key: str | None) -> str:
    """A generated complaint/survey id. With an Idempotency-Key a retry generates the same
    one; the key is scoped by customer, so two callers reusing a key never share an entity."""
    raw = deterministic_event_id(source, prefix, customer_id, key) if key else str(uuid.uuid4())
    return f"{prefix}-{raw.replace('-', '')[:20]}"


@dataclass(frozen=True)
class SlaClock:
    """One SLA clock: it warns once at ``warn_at``, breaches once at ``due_at``, unless stopped."""

    started_at: datetime
    due_at: datetime
    warn_at: datetime
    warned: bool = False
    breached: bool = False
    stopped_at: datetime | None = None

    @classmethod
    def start(
        cls,
        started_at: datetime,
        due_at: datetime,
        warning_fraction: float,
        calendar: BusinessCalendar,
    ) -> SlaClock:
        """The warning comes when ``warning_fraction`` of the clock's *business* time is used."""
        span = calendar.between(started_at, due_at)
        warn_at = to_millis(calendar.add(started_at, span * warning_fraction))
        return cls(started_at=started_at, due_at=due_at, warn_at=min(warn_at, due_at))

    @property
    def running(self) -> bool:
        """Still counting towards a breach (not stopped, not breached)."""
        return not self.stopped and not self.breached

    def shifted(self, by: timedelta, calendar: BusinessCalendar) -> SlaClock:
        """The clock after a pause of ``by`` business time: deadline and a pending warning
        move by exactly that much business time; a breach already published stays."""
        if not self.running or by <= timedelta(0):
            return self
        due_at = to_millis(calendar.add(self.due_at, by))
        warn_at = self.warn_at if self.warned else to_millis(calendar.add(self.warn_at, by))
        return replace(self, due_at=due_at, warn_at=min(warn_at, due_at))

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    @property
    def met(self) -> bool | None:
        """Stopped before its deadline? None while it runs."""
        return None if self.stopped_at is None else self.stopped_at <= self.due_at

    @property
    def next_moment(self) -> datetime | None:
        """When this clock next needs the sweeper (warning, then breach), if ever."""
        if self.stopped or self.breached:
            return None
        return self.due_at if self.warned else self.warn_at

    def stop(self, at: datetime) -> SlaClock:
        return self if self.stopped else replace(self, stopped_at=at)


@dataclass(frozen=True)
class Complaint:
    complaint_id: str
    customer_id: str
    severity: str
    category: str
    channel: str
    description: str
    owner_id: str
    raised_at: datetime
    raised_event_id: str
    correlation_id: str
    clocks: dict[str, SlaClock]
    status: str = OPEN
    escalation_level: int = 0
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    within_sla: bool | None = None
    version: int = 1
    updated_at: datetime | None = None  # of the last transition (raise: none)
    calendar: str = "24x7"  # the business calendar its clocks count in
    segment: str | None = None
    paused_at: datetime | None = None
    pause_reason: str | None = None
    pause_count: int = 0
    paused_seconds: int = 0  # business seconds spent paused, over all pauses
    reopen_count: int = 0
    reopened_at: datetime | None = None
    escalations: dict[str, int] = field(default_factory=dict)  # per clock: breaches escalated
    last_customer_reply_at: datetime | None = None
    # The employee the raise named, when they had left and the departure rule chose the owner.
    named_owner_id: str | None = None
    # The leaver it was taken from by the departure rule, until contacts' move of that
    # leaver's account names the account's new owner (the complaint then follows it).
    handed_over_from: str | None = None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def next_due_at(self) -> datetime | None:
        """No timer while paused: waiting for the customer does not count."""
        if self.paused:
            return None
        moments = [m for c in self.clocks.values() if (m := c.next_moment) is not None]
        return min(moments, default=None)

    @property
    def breach_due_at(self) -> datetime | None:
        """The next deadline that can still be missed (none while paused or resolved)."""
        if self.paused or self.status == RESOLVED:
            return None
        return min((c.due_at for c in self.clocks.values() if c.running), default=None)

    @property
    def desk_state(self) -> str:
        """open (a deadline ahead) | paused | overdue (every deadline missed) | resolved."""
        if self.status == RESOLVED:
            return RESOLVED
        if self.paused:
            return "paused"
        return OPEN if self.breach_due_at is not None else "overdue"

    @property
    def first_response_within_sla(self) -> bool | None:
        return self.clocks[FIRST_RESPONSE].met


class Filing(Protocol):
    """What opening a complaint needs: a consumed ``ComplaintRaised`` or a ``ComplaintFiled``."""

    @property
    def complaint_id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def category(self) -> str: ...
    @property
    def channel(self) -> Channel: ...
    @property
    def description(self) -> str: ...
    @property
    def owner_id(self) -> str: ...
    @property
    def first_response_due_at(self) -> datetime: ...
    @property
    def resolution_due_at(self) -> datetime: ...
    @property
    def segment(self) -> str | None: ...


@dataclass(frozen=True)
class ComplaintFiled:
    """Fact: a complaint was raised (here or elsewhere) with these deadlines, by this event."""

    event_id: str
    correlation_id: str
    complaint_id: str
    customer_id: str
    severity: Severity
    category: str
    channel: Channel
    description: str
    owner_id: str
    raised_at: datetime
    first_response_due_at: datetime
    resolution_due_at: datetime
    segment: str | None = None
    named_owner_id: str | None = None  # the leaver the raise named (owner_id: who took over)


def check_deadlines(data: Filing, raised_at: datetime) -> None:
    """Deadlines a publisher sends must make sense; we never invent other ones for them."""
    if data.first_response_due_at < raised_at:
        raise Unprocessable("first_response_due_at lies before the complaint was raised")
    if data.resolution_due_at < data.first_response_due_at:
        raise Unprocessable("resolution_due_at lies before first_response_due_at")


def check_not_future(moment: datetime, now: datetime, what: str) -> None:
    if moment > now + MAX_CLOCK_SKEW:
        raise DomainError(f"{what} lies in the future")


def open_complaint(
    data: Filing,
    *,
    raised_at: datetime,
    event_id: str,
    correlation_id: str,
    warning_fraction: float,
    calendar: BusinessCalendar,
) -> Complaint:
    raised_at = to_millis(raised_at)
    check_deadlines(data, raised_at)
    due = {
        FIRST_RESPONSE: to_millis(data.first_response_due_at),
        RESOLUTION: to_millis(data.resolution_due_at),
    }
    return Complaint(
        complaint_id=data.complaint_id,
        customer_id=data.customer_id,
        severity=data.severity.value,
        category=data.category,
        channel=data.channel.value,
        description=data.description,
        owner_id=data.owner_id,
        raised_at=raised_at,
        raised_event_id=event_id,
        correlation_id=correlation_id,
        clocks={
            name: SlaClock.start(raised_at, due[name], warning_fraction, calendar)
            for name in CLOCKS
        },
        calendar=calendar.name,
        segment=data.segment,
    )


def end_pause(complaint: Complaint, at: datetime, calendar: BusinessCalendar) -> Complaint:
    """The complaint after its pause (if any) ended at ``at``: running clocks moved by the
    business time paused, that time added to ``paused_seconds``."""
    if complaint.paused_at is None:
        return complaint
    paused = calendar.between(complaint.paused_at, at)
    return replace(
        complaint,
        paused_at=None,
        pause_reason=None,
        paused_seconds=complaint.paused_seconds + int(paused.total_seconds()),
        clocks={name: clock.shifted(paused, calendar) for name, clock in complaint.clocks.items()},
    )


def acknowledge(
    complaint: Complaint, *, by: str, at: datetime, calendar: BusinessCalendar
) -> tuple[Complaint, ComplaintAcknowledged]:
    """The first response stops the first-response clock (judged without the time paused
    so far; the pause itself goes on)."""
    if complaint.status == RESOLVED:
        raise Conflict(f"complaint {complaint.complaint_id} is resolved; it cannot be acknowledged")
    if complaint.acknowledged_at is not None:
        raise Conflict(
            f"complaint {complaint.complaint_id} was already acknowledged at "
            f"{complaint.acknowledged_at.isoformat()}"
        )
    clock = complaint.clocks[FIRST_RESPONSE]
    if complaint.paused_at is not None:
        clock = clock.shifted(calendar.between(complaint.paused_at, at), calendar)
    clocks = {**complaint.clocks, FIRST_RESPONSE: clock.stop(at)}
    changed = replace(complaint, acknowledged_at=at, acknowledged_by=by, clocks=clocks)
    fact = ComplaintAcknowledged(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        acknowledged_by=by,
        acknowledged_at=at,
    )
    return changed, fact


def resolve(
    complaint: Complaint, *, by: str, resolution: str, at: datetime, calendar: BusinessCalendar
) -> tuple[Complaint, ComplaintResolved]:
    """Resolution stops every clock (it is also a response, if none was given before); a
    pause ends with it, its time not counted."""
    if complaint.status == RESOLVED:
        raise Conflict(f"complaint {complaint.complaint_id} is already resolved")
    complaint = end_pause(complaint, at, calendar)
    within_sla = at <= complaint.clocks[RESOLUTION].due_at
    changed = replace(
        complaint,
        status=RESOLVED,
        resolved_at=at,
        resolved_by=by,
        resolution=resolution,
        within_sla=within_sla,
        clocks={name: clock.stop(at) for name, clock in complaint.clocks.items()},
    )
    fact = ComplaintResolved(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        resolved_by=by,
        resolution=resolution,
        resolved_at=at,
        within_sla=within_sla,
        severity=Severity(complaint.severity),
        reopen_count=complaint.reopen_count or None,
    )
    return changed, fact
