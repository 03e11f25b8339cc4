"""Assessment and communication plan (seed 000: assess the customer's value and the
contract's obligations, pick a strategy, then communicate to a plan — goals, audience,
channel, schedule). Pure data and rules over the case's maps."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from crm_offboarding.lifecycle import CaseState

# A plan is made and carried out while the case is being worked on, including the
# follow-up service after the end; not once it waits only for its close.
PLANNING_STATES = frozenset(
    {
        CaseState.ASSESSMENT,
        CaseState.RETENTION,
        CaseState.TERMINATION,
        CaseState.NEGOTIATION,
        CaseState.EXIT_AGREED,
        CaseState.ENDED,
    }
)


@dataclass(frozen=True)
class Assessment:
    customer_value_minor: int  # yearly revenue at stake, as the manager assesses it
    currency: str
    contract_obligations: list[str]
    reasons: list[str]
    recommended_strategy: str  # retain | terminate
    assessed_by: str
    assessed_at: datetime


@dataclass(frozen=True)
class PlannedCommunication:
    number: int
    goal: str
    audience: str
    channel: str
    scheduled_at: datetime
    planned_by: str
    held_at: datetime | None = None
    held_by: str | None = None
    outcome: str | None = None
    overdue_at: datetime | None = None  # the schedule passed with nothing held

    @property
    def pending(self) -> bool:
        return self.held_at is None


def next_planned(plan: dict[int, PlannedCommunication]) -> datetime | None:
    """The due date: the earliest pending communication not yet reported overdue."""
    waiting = [c.scheduled_at for c in plan.values() if c.pending and c.overdue_at is None]
    return min(waiting) if waiting else None


def overdue(plan: dict[int, PlannedCommunication], now: datetime) -> list[PlannedCommunication]:
    return sorted(
        (c for c in plan.values() if c.pending and c.scheduled_at <= now),
        key=lambda c: (c.scheduled_at, c.number),
    )


def mark_overdue(
    plan: dict[int, PlannedCommunication], now: datetime
) -> dict[int, PlannedCommunication]:
    return {
        n: replace(c, overdue_at=now)
        if c.pending and c.overdue_at is None and c.scheduled_at <= now
        else c
        for n, c in plan.items()
    }
