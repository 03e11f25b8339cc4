"""Work-queue facts (pure): complaints that feedback warned about or that breached, and
open offboarding cases with their next action, kept on the customer's aggregate from the
events; the read models list them across customers with one indexed query."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from crm_insights.counting import Change, Rule, moment
from crm_insights.domain import Case, Complaint, CustomerFacts, Observed

# Next actions of a case by the last step seen (codes; the UI words them).
NEXT = {
    "OffboardingCaseOpened": ("opened", "assess"),
    "RetentionOfferMade": ("offer_made", "await_answer"),
    "NegotiationRoundHeld": ("negotiating", "next_round"),
    "ExitAgreed": ("exit_agreed", "end_relationship"),
    "RelationshipEnded": ("ended", "dispose_and_review"),
}
CLOSING = ("CustomerRetained", "OffboardingCaseClosed")
DUE_FIELDS = {"RetentionOfferMade": "valid_until", "ExitAgreed": "effective_date"}


def _complaint(state: CustomerFacts, fact: Observed) -> tuple[str, Complaint]:
    cid = str(fact.get("complaint_id"))
    return cid, state.complaints.get(cid, Complaint())


def warned(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    cid, known = _complaint(state, fact)
    complaint = replace(known, warned=True, owner_id=fact.get("owner_id") or known.owner_id)
    return replace(state, complaints={**state.complaints, cid: complaint}), []


def escalated(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    cid, known = _complaint(state, fact)
    complaint = replace(known, owner_id=fact.get("escalated_to") or known.owner_id)
    complaints = {**state.complaints, cid: complaint}
    return replace(state, complaints=complaints), [("escalations", fact.at, 1)]


def case_step(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    case_id = str(fact.get("case_id"))
    if fact.event_type in CLOSING:
        return replace(state, cases={k: v for k, v in state.cases.items() if k != case_id}), []
    stage, action = NEXT[fact.event_type]
    if fact.event_type == "NegotiationRoundHeld" and fact.get("outcome") == "agreement_reached":
        action = "record_agreement"
    due_field = DUE_FIELDS.get(fact.event_type)
    due = moment(fact, due_field) if due_field and fact.get(due_field) else None
    case = Case(stage=stage, next_action=action, since=fact.at, due_at=due)
    return replace(state, cases={**state.cases, case_id: case}), []


def attention_at(state: CustomerFacts) -> datetime | None:
    """When the customer's most urgent complaint is due (None: nothing needs attention)."""
    dues = [
        c.resolution_due_at or c.raised_at
        for c in state.complaints.values()
        if c.needs_attention and (c.resolution_due_at or c.raised_at)
    ]
    return min(dues) if dues else None  # type: ignore[type-var]


def cases_since(state: CustomerFacts) -> datetime | None:
    return min((c.since for c in state.cases.values()), default=None)


def chain(first: Rule, second: Rule) -> Rule:
    """Both rules, the flows of each (an event that counts and moves a queue)."""

    def rule(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
        middle, flows = first(state, fact)
        after, more = second(middle, fact)
        return after, [*flows, *more]

    return rule
