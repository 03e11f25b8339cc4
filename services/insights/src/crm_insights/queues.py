"""Work-queue facts (pure): complaints that feedback warned about or that breached, open
offboarding cases with their next action, and contacts' open follow-ups (overdue first),
kept on the customer's aggregate from the events; the read models list them across
customers with one indexed query."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from crm_insights.counting import Change, Rule, moment
from crm_insights.domain import Case, Complaint, CustomerFacts, FollowUp, Observed

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
FOLLOW_UP_FACTS = ("FollowUpScheduled", "FollowUpOverdue", "FollowUpCompleted")
DONE_KEPT = 5  # completed follow-ups kept as tombstones against late facts about them


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


# --- follow-ups -----------------------------------------------------------------------------
def follow_up_step(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    """``FollowUpScheduled`` / ``FollowUpOverdue`` / ``FollowUpCompleted``: in any order, a
    completed follow-up stays done; the newest owner wins."""
    fid = str(fact.get("follow_up_id"))
    known = state.follow_ups.get(fid)
    due = moment(fact, "due_at")
    owner = fact.get("owner_id") or (known.owner_id if known else fact.get("employee_id"))
    if known is None:
        known = FollowUp(owner_id=str(owner), due_at=due, owner_at=fact.at)
    elif fact.get("owner_id") and fact.at >= known.owner_at:
        known = replace(known, owner_id=str(owner), owner_at=fact.at)
    moved_at = state.account_owner_at
    if state.account_owner and moved_at and moved_at > known.owner_at:
        known = replace(known, owner_id=state.account_owner, owner_at=moved_at)
    after = replace(
        known,
        due_at=due,
        overdue=known.overdue or fact.event_type == "FollowUpOverdue",
        done=known.done or fact.event_type == "FollowUpCompleted",
    )
    return replace(state, follow_ups=_kept({**state.follow_ups, fid: after})), []


def owner_changed(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    """Contacts moves the open follow-up to the account's new owner without an event of
    its own; ``AccountOwnerChanged`` says so."""
    owner = fact.get("new_owner_id")
    if not owner:
        return state, []
    if state.account_owner_at is None or fact.at >= state.account_owner_at:
        state = replace(state, account_owner=str(owner), account_owner_at=fact.at)
    moved = {
        fid: replace(f, owner_id=str(owner), owner_at=fact.at)
        if not f.done and fact.at >= f.owner_at
        else f
        for fid, f in state.follow_ups.items()
    }
    return replace(state, follow_ups=moved), []


def ended(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    """The relationship ended: contacts drops the open follow-up, so does the queue."""
    return replace(state, ended=True), []


def _kept(follow_ups: dict[str, FollowUp]) -> dict[str, FollowUp]:
    done = sorted((f.due_at, fid) for fid, f in follow_ups.items() if f.done)
    dropped = {fid for _, fid in done[:-DONE_KEPT]}
    return {fid: f for fid, f in follow_ups.items() if fid not in dropped}


def open_follow_ups(state: CustomerFacts) -> list[tuple[str, FollowUp]]:
    """The follow-ups to work, overdue first, then the oldest due; none for a customer
    whose relationship ended or whose data was disposed of."""
    if state.ended or state.erased:
        return []
    found = [(fid, f) for fid, f in state.follow_ups.items() if not f.done]
    return sorted(found, key=lambda item: (not item[1].overdue, item[1].due_at, item[0]))


def chain(first: Rule, second: Rule) -> Rule:
    """Both rules, the flows of each (an event that counts and moves a queue)."""

    def rule(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
        middle, flows = first(state, fact)
        after, more = second(middle, fact)
        return after, [*flows, *more]

    return rule
