"""SLA policy and the timer rules: what fires when a complaint's clocks are looked at ``now``.

Pure functions of (complaint, now, policy): the sweeper may look at a complaint any number
of times; flags on each clock make every warning and breach happen once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from crm_events.base import EventData
from crm_events.feedback import ComplaintEscalated, ComplaintSlaBreached, ComplaintSlaWarning
from crm_events.feedback import SlaClock as ClockName
from crm_feedback.domain import CLOCKS, Complaint, SlaClock, to_millis

FiredKind = Literal["sla-warning", "sla-breached", "escalated"]


@dataclass(frozen=True)
class SlaPolicy:
    """Targets per severity (first response, resolution), warning share, escalation chain."""

    targets: Mapping[str, tuple[timedelta, timedelta]]
    warning_fraction: float
    escalation_chain: tuple[str, ...]

    def deadlines(self, severity: str, raised_at: datetime) -> tuple[datetime, datetime]:
        first_response, resolution = self.targets[severity]
        raised_at = to_millis(raised_at)
        return raised_at + first_response, raised_at + resolution

    def escalation_target(self, level: int) -> str:
        """Level 1 is the first entry; beyond the chain the last entry keeps the complaint."""
        return self.escalation_chain[min(level, len(self.escalation_chain)) - 1]


@dataclass(frozen=True)
class Fired:
    """One fact a sweep produced; (complaint, clock, kind) identifies it for ever."""

    clock: ClockName
    kind: FiredKind
    fact: EventData


def sweep(complaint: Complaint, now: datetime, policy: SlaPolicy) -> tuple[Complaint, list[Fired]]:
    """Warnings and breaches (with their escalations) due at ``now``, and the new state."""
    fired: list[Fired] = []
    for name in CLOCKS:
        clock = complaint.clocks[name]
        if clock.stopped or clock.breached:
            continue
        if now >= clock.due_at:
            complaint, facts = _breach(complaint, name, clock, now, policy)
            fired.extend(facts)
        elif now >= clock.warn_at and not clock.warned:
            complaint = _with_clock(complaint, name, replace(clock, warned=True))
            fired.append(Fired(name, "sla-warning", _warning(complaint, name, clock, now)))
    return complaint, fired


def _breach(
    complaint: Complaint, name: ClockName, clock: SlaClock, now: datetime, policy: SlaPolicy
) -> tuple[Complaint, list[Fired]]:
    # A warning whose moment passed unseen (service down) is not sent after the breach.
    breached = _with_clock(complaint, name, replace(clock, warned=True, breached=True))
    level = complaint.escalation_level + 1
    target = policy.escalation_target(level)
    facts = [
        Fired(name, "sla-breached", _breached(complaint, name, clock, now)),
        Fired(name, "escalated", _escalated(complaint, name, level, target)),
    ]
    return replace(breached, escalation_level=level, owner_id=target), facts


def _breached(complaint: Complaint, name: ClockName, clock: SlaClock, now: datetime) -> EventData:
    return ComplaintSlaBreached(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        clock=name,
        due_at=clock.due_at,
        breached_at=now,
        owner_id=complaint.owner_id,
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


def _warning(complaint: Complaint, name: ClockName, clock: SlaClock, now: datetime) -> EventData:
    return ComplaintSlaWarning(
        complaint_id=complaint.complaint_id,
        customer_id=complaint.customer_id,
        clock=name,
        due_at=clock.due_at,
        remaining_seconds=max(0, int((clock.due_at - now).total_seconds())),
        owner_id=complaint.owner_id,
    )


def _with_clock(complaint: Complaint, name: str, clock: SlaClock) -> Complaint:
    return replace(complaint, clocks={**complaint.clocks, name: clock})
