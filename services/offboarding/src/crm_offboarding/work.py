"""What a case waits for next, for the work queue: a short instruction, by when, and whether
that moment has passed. Pure; derived from the state, never stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_offboarding.aftercare import AftercareRules
from crm_offboarding.domain import Case
from crm_offboarding.lifecycle import CaseState
from crm_offboarding.plan import PLANNING_STATES, overdue


@dataclass(frozen=True)
class NextAction:
    what: str
    due: datetime | None = None
    overdue: bool = False


_BY_STATE: dict[CaseState, str] = {
    CaseState.ASSESSMENT: "choose a strategy: retain with an offer, or terminate",
    CaseState.RETENTION: "hold the first negotiation round",
    CaseState.TERMINATION: "hold the first negotiation round",
    CaseState.NEGOTIATION: "hold the next round, or conclude with an exit or retention",
    CaseState.EXIT_AGREED: "wait for the effective date: the relationship ends then",
    CaseState.RETAINED: "record the lessons-learned review",
    CaseState.ENDED: "give follow-up service until the period ends",
    CaseState.REVIEW: "record the lessons-learned review",
    CaseState.AWAITING_DISPOSAL: "wait for every service to attest the erasure",
    CaseState.CLOSED: "nothing: the case is closed",
}


def next_action(case: Case, now: datetime, rules: AftercareRules) -> NextAction:
    disposal = case.disposal
    if disposal is not None and disposal.overdue_at is not None and disposal.missing:
        missing = ", ".join(disposal.missing)
        return NextAction(f"chase the missing erasure attestations: {missing}", None, True)
    late = overdue(case.communications, now) if case.state in PLANNING_STATES else []
    if late:
        first = late[0]
        what = f"hold the overdue communication #{first.number} ({first.channel})"
        return NextAction(what, first.scheduled_at, True)
    due = case.state_due(rules)
    if case.state is CaseState.ENDED and case.on_hold(now):
        return NextAction(_BY_STATE[case.state] + " (disposal on legal hold)", due, False)
    return NextAction(_BY_STATE[case.state], due, due is not None and due <= now)
