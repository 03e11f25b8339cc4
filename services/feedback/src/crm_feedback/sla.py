"""SLA policy and the timer rules: what fires when a complaint's clocks are looked at ``now``.

Pure functions of (complaint, now, policy): the sweeper may look at a complaint any number
of times; flags on each clock make every warning and breach happen once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from crm_events.base import EventData
from crm_events.feedback import ComplaintEscalated, ComplaintSlaBreached, ComplaintSlaWarning
from crm_events.feedback import SlaClock as ClockName
from crm_feedback.business_time import ALWAYS_OPEN, BusinessCalendar
from crm_feedback.domain import CLOCKS, RESOLUTION, Complaint, SlaClock, to_millis

FiredKind = Literal["sla-warning", "sla-breached", "escalated"]


@dataclass(frozen=True)
class SlaPolicy:
    """Targets per severity (first response, resolution) in business time, the calendars
    they count in (per severity, optionally per customer segment), the warning share, the
    escalation chain (by level) with optional chains per severity and clock, and the
    reopen window."""

    targets: Mapping[str, tuple[timedelta, timedelta]]
    warning_fraction: float
    escalation_chain: tuple[str, ...]
    escalation_chains: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    calendars: Mapping[str, BusinessCalendar] = field(
        default_factory=lambda: {ALWAYS_OPEN.name: ALWAYS_OPEN}
    )
    calendar_by_severity: Mapping[str, str] = field(default_factory=dict)
    calendar_by_segment: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    reopen_window: timedelta = timedelta(days=14)

    def calendar_for(self, severity: str, segment: str | None = None) -> BusinessCalendar:
        """The segment's calendar for the severity if configured, else the severity's."""
        name = self.calendar_by_segment.get(segment or "", {}).get(severity)
        name = name or self.calendar_by_severity.get(severity, ALWAYS_OPEN.name)
        return self.calendars.get(name, ALWAYS_OPEN)

    def calendar_of(self, complaint: Complaint) -> BusinessCalendar:
        """The calendar the complaint was opened with (if still configured)."""
        known = self.calendars.get(complaint.calendar)
        return known or self.calendar_for(complaint.severity, complaint.segment)

    def deadlines(
        self, severity: str, raised_at: datetime, segment: str | None = None
    ) -> tuple[datetime, datetime]:
        first_response, resolution = self.targets[severity]
        calendar = self.calendar_for(severity, segment)
        raised_at = to_millis(raised_at)
        return (
            to_millis(calendar.add(raised_at, first_response)),
            to_millis(calendar.add(raised_at, resolution)),
        )

    def fresh_resolution_due(self, complaint: Complaint, start: datetime) -> datetime:
        """Deadline of a resolution clock started again at ``start`` (a reopen)."""
        resolution = self.targets[complaint.severity][1]
        return to_millis(self.calendar_of(complaint).add(start, resolution))

    def escalation_target(self, severity: str, clock: str, nth: int, level: int) -> str:
        """Who owns the complaint after an escalation: with a chain configured for the
        severity and clock, its ``nth`` entry (the clock's nth breach); else the default
        chain's entry for the complaint's ``level``. Beyond a chain its last entry keeps it."""
        chain = self.escalation_chains.get(severity, {}).get(clock)
        position = nth
        if not chain:
            chain, position = self.escalation_chain, level
        return chain[min(position, len(chain)) - 1]


@dataclass(frozen=True)
class Fired:
    """One fact a sweep produced; (complaint, clock, kind) identifies it for ever."""

    clock: ClockName
    kind: FiredKind
    fact: EventData
    cycle: int = 0  # the resolution clock starts afresh with every reopen


def sweep(complaint: Complaint, now: datetime, policy: SlaPolicy) -> tuple[Complaint, list[Fired]]:
    """Warnings and breaches (with their escalations) due at ``now``, and the new state."""
    fired: list[Fired] = []
    if complaint.paused:
        return complaint, fired
    for name in CLOCKS:
        clock = complaint.clocks[name]
        if not clock.running:
            continue
        if now >= clock.due_at:
            complaint, facts = _breach(complaint, name, clock, now, policy)
            fired.extend(facts)
        elif now >= clock.warn_at and not clock.warned:
            complaint = _with_clock(complaint, name, replace(clock, warned=True))
            left = policy.calendar_of(complaint).between(now, clock.due_at)
            warning = _warning(complaint, name, clock, left)
            fired.append(Fired(name, "sla-warning", warning, _cycle(complaint, name)))
    return complaint, fired


def _cycle(complaint: Complaint, name: ClockName) -> int:
    return complaint.reopen_count if name == RESOLUTION else 0


def _breach(
    complaint: Complaint, name: ClockName, clock: SlaClock, now: datetime, policy: SlaPolicy
) -> tuple[Complaint, list[Fired]]:
    # A warning whose moment passed unseen (service down) is not sent after the breach.
    breached = _with_clock(complaint, name, replace(clock, warned=True, breached=True))
    level = complaint.escalation_level + 1
    nth = complaint.escalations.get(name, 0) + 1
    target = policy.escalation_target(complaint.severity, name, nth, level)
    cycle = _cycle(complaint, name)
    facts = [
        Fired(name, "sla-breached", _breached(complaint, name, clock, now), cycle),
        Fired(name, "escalated", _escalated(complaint, name, level, target), cycle),
    ]
    escalations = {**complaint.escalations, name: nth}
    changed = replace(breached, escalation_level=level, owner_id=target, escalations=escalations)
    return changed, facts


def _breached(complaint: Complaint, name: ClockName, clock: SlaClock, now: datetime) -> EventData:
    return ComplaintSlaBreached(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        clock=name,
        due_at=clock.due_at,
        breached_at=now,
        owner_id=complaint.owner_id,
        reopen_count=_cycle(complaint, name) or None,
    )


def _escalated(complaint: Complaint, name: ClockName, level: int, target: str) -> EventData:
    return ComplaintEscalated(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        level=level,
        escalated_to=target,
        reason=f"{name.replace('_', ' ')} SLA breached",
        previous_owner_id=complaint.owner_id,
    )


def _warning(complaint: Complaint, name: ClockName, clock: SlaClock, left: timedelta) -> EventData:
    return ComplaintSlaWarning(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        clock=name,
        due_at=clock.due_at,
        remaining_seconds=max(0, int(left.total_seconds())),
        owner_id=complaint.owner_id,
        reopen_count=_cycle(complaint, name) or None,
    )


def _with_clock(complaint: Complaint, name: str, clock: SlaClock) -> Complaint:
    return replace(complaint, clocks={**complaint.clocks, name: clock})
