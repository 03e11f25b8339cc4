"""How one event changes a customer's KPI facts, and what it counts (pure).

``rules.evolve(state, fact) -> (state, changes)`` applies these rules: a change is
``(metric, when, amount)``; the KPI buckets add them up (``crm_insights.kpis``). Flows
(complaints raised, conversions, ...) are counted here once per fact; gauges (active
customers, class, tier, points outstanding) are the difference of ``levels`` before and
after, so whatever order the facts arrive in, a customer contributes its current level
exactly once.

Every type counted here is published: ``SurveyRequested`` by feedback,
``FollowUpScheduled``/``FollowUpOverdue``/``FollowUpCompleted`` and ``AccountOwnerChanged``
by contacts, ``RelationshipEnded`` by offboarding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from crm_insights.domain import Complaint, CustomerFacts, Observed

Change = tuple[str, datetime, int]
Rule = Callable[[CustomerFacts, Observed], tuple[CustomerFacts, list[Change]]]
MAX_DAYS_BIN, MAX_HOURS_BIN = 3650, 8760
WON_BACK_FROM = {"churned"}


def label(value: Any) -> str:
    """A metric label safe as a MongoDB field name."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(value))[:60] or "_"


def moment(fact: Observed, name: str) -> datetime:
    """The payload's own time for ``name`` when present (facts carry business time)."""
    value = fact.get(name)
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return fact.at
    return fact.at


def levels(state: CustomerFacts | None) -> dict[str, int]:
    """The customer's contribution to every gauge."""
    if state is None:
        return {}
    found: dict[str, int] = {}
    live = state.registered and not state.lost
    if live:
        found["active_customers"] = 1
        if not state.converted:
            found["prospects"] = 1
    if state.registered and state.customer_class:
        found[f"class~{label(state.customer_class)}"] = 1
    if state.tier:
        found[f"tier~{label(state.tier)}"] = 1
    if state.balance:
        found["points_outstanding"] = state.balance
    return found


def gauge_changes(before: CustomerFacts | None, after: CustomerFacts, at: datetime) -> list[Change]:
    old, new = levels(before), levels(after)
    return [
        (metric, at, new.get(metric, 0) - old.get(metric, 0))
        for metric in sorted({*old, *new})
        if new.get(metric, 0) != old.get(metric, 0)
    ]


def latest(state: CustomerFacts, at: datetime) -> datetime:
    return at if state.last_event_at is None or at > state.last_event_at else state.last_event_at


# --- establish ----------------------------------------------------------------------------
def registered(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    if state.registered:
        return state, []
    after = replace(
        state,
        registered_at=fact.at,
        name=fact.get("display_name"),
        customer_class=state.customer_class or "potential",
    )
    return _convert(after, [("new_customers", fact.at, 1)])


def profile_updated(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    name = fact.get("display_name")
    return (replace(state, name=name) if name and not state.erased else state), []


def classified(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    new_class = str(fact.get("classification"))
    after = replace(state, customer_class=new_class)
    if new_class == "churned" and not state.lost:
        return replace(after, lost=True), [("churned", fact.at, 1)]
    if state.lost and new_class not in WON_BACK_FROM and state.customer_class in WON_BACK_FROM:
        return replace(after, lost=False), [("won_back", fact.at, 1)]
    return after, []


def purchased(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    at = moment(fact, "purchased_at")
    first = state.first_purchase_at
    after = state if first is not None and first <= at else replace(state, first_purchase_at=at)
    return _convert(after, [("purchases", at, 1)])


def _convert(state: CustomerFacts, flows: list[Change]) -> tuple[CustomerFacts, list[Change]]:
    """Potential → customer: the first purchase of a registered customer, counted once, with
    the days it took since registration (the seeds' sales cycle)."""
    if state.converted or state.registered_at is None or state.first_purchase_at is None:
        return state, flows
    at = state.first_purchase_at
    days = min(MAX_DAYS_BIN, max(0, (at - state.registered_at).days))
    flows = [*flows, ("conversions", at, 1), (f"conversion_days~{days}", at, 1)]
    return replace(state, converted=True), flows


# --- maintain: complaints and surveys -----------------------------------------------------------
def complaint_raised(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    at = moment(fact, "raised_at")
    due = moment(fact, "first_response_due_at")
    known = state.complaints.get(str(fact.get("complaint_id")), Complaint())
    complaint = replace(
        known,
        raised_at=at,
        first_response_due_at=due,
        resolution_due_at=moment(fact, "resolution_due_at"),
        severity=fact.get("severity"),
        owner_id=known.owner_id or fact.get("owner_id"),
    )
    return _complaint(state, fact, complaint, [("complaints_raised", at, 1)])


def acknowledged(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    known = state.complaints.get(str(fact.get("complaint_id")), Complaint())
    complaint = replace(known, acknowledged_at=moment(fact, "acknowledged_at"))
    return _complaint(state, fact, complaint, [])


def resolved(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    at = moment(fact, "resolved_at")
    known = state.complaints.get(str(fact.get("complaint_id")), Complaint())
    flows: list[Change] = [("resolution_total", at, 1)]
    if fact.get("within_sla") is True:
        flows.append(("resolution_met", at, 1))
    return _complaint(state, fact, replace(known, resolved_at=at), flows)


def _complaint(
    state: CustomerFacts, fact: Observed, complaint: Complaint, flows: list[Change]
) -> tuple[CustomerFacts, list[Change]]:
    """Counts what the complaint's known times allow, each measure once, whatever the order."""
    if not complaint.first_response_counted and complaint.acknowledged_at and complaint.raised_at:
        due = complaint.first_response_due_at
        at = complaint.acknowledged_at
        flows.append(("first_response_total", at, 1))
        if due is not None and at <= due:
            flows.append(("first_response_met", at, 1))
        complaint = replace(complaint, first_response_counted=True)
    if not complaint.resolution_counted and complaint.resolved_at and complaint.raised_at:
        seconds = (complaint.resolved_at - complaint.raised_at).total_seconds()
        hours = min(MAX_HOURS_BIN, max(0, int(seconds // 3600)))
        flows.append((f"resolution_hours~{hours}", complaint.resolved_at, 1))
        complaint = replace(complaint, resolution_counted=True)
    complaints = {**state.complaints, str(fact.get("complaint_id")): complaint}
    return replace(state, complaints=complaints), flows


def breached(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    cid = str(fact.get("complaint_id"))
    complaint = replace(state.complaints.get(cid, Complaint()), breached=True)
    after = replace(state, complaints={**state.complaints, cid: complaint})
    return after, [(f"sla_breaches~{label(fact.get('clock'))}", moment(fact, "breached_at"), 1)]


def survey_answered(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    at = moment(fact, "answered_at")
    flows: list[Change] = [("surveys_answered", at, 1)]
    csat, nps = fact.get("csat"), fact.get("nps")
    if isinstance(csat, int):
        flows += [("csat_count", at, 1), ("csat_sum", at, csat)]
    if isinstance(nps, int):
        flows.append(("nps_count", at, 1))
        if nps >= 9:
            flows.append(("nps_promoters", at, 1))
        elif nps <= 6:
            flows.append(("nps_detractors", at, 1))
    return state, flows


# --- loyalty ------------------------------------------------------------------------------------
def ledger(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    """The latest balance wins (an older ledger fact arriving late changes nothing)."""
    flow = f"points_{fact.event_type.removeprefix('Points').lower()}"
    flows: list[Change] = [(flow, fact.at, int(fact.get("points") or 0))]
    balance = fact.get("balance_after")
    if not isinstance(balance, int) or (state.balance_at and fact.at < state.balance_at):
        return state, flows
    return replace(state, balance=max(0, balance), balance_at=fact.at), flows


def settled(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    return replace(state, balance=0, balance_at=fact.at), [("accounts_settled", fact.at, 1)]


def tier_changed(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    return replace(state, tier=str(fact.get("new_tier"))), []


# --- dissolve -----------------------------------------------------------------------------------
def relationship_ended(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    if state.lost:
        return state, []
    return replace(state, lost=True), [("churned", moment(fact, "ended_at"), 1)]


def counted(metric: str, when: str | None = None, by: str | None = None) -> Rule:
    """A flow of one per fact (``metric~<payload[by]>`` when ``by`` names a label field)."""

    def rule(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
        name = metric if by is None else f"{metric}~{label(fact.get(by))}"
        return state, [(name, moment(fact, when) if when else fact.at, 1)]

    return rule


def follow_up_completed(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    """A follow-up done by its deadline counts in the period of that deadline."""
    if fact.get("on_time") is not True:
        return state, []
    return state, [("follow_ups_done_on_time", moment(fact, "due_at"), 1)]


def handed_over(state: CustomerFacts, fact: Observed) -> tuple[CustomerFacts, list[Change]]:
    if fact.get("reason") != "employee_departed":
        return state, []
    return state, [("accounts_handed_over", fact.at, 1)]


RULES: dict[str, Rule] = {
    "CustomerRegistered": registered,
    "CustomerProfileUpdated": profile_updated,
    "CustomerClassified": classified,
    "PurchaseRecorded": purchased,
    "ComplaintRaised": complaint_raised,
    "ComplaintAcknowledged": acknowledged,
    "ComplaintResolved": resolved,
    "ComplaintSlaBreached": breached,
    "ComplaintEscalated": counted("escalations"),
    "SurveyAnswered": survey_answered,
    "SurveyRequested": counted("surveys_requested"),
    "FeedbackSubmitted": counted("feedback", by="kind"),
    "PointsAwarded": ledger,
    "PointsRedeemed": ledger,
    "PointsReversed": ledger,
    "PointsExpired": ledger,
    "LoyaltyAccountSettled": settled,
    "TierChanged": tier_changed,
    "RiskDetected": counted("risks", by="category"),
    "OffboardingCaseOpened": counted("cases_opened"),
    "CustomerRetained": counted("cases_retained"),
    "ExitAgreed": counted("cases_exited"),
    "RelationshipEnded": relationship_ended,
    "PersonalDataErased": counted("erasures", by="service"),
    "FollowUpScheduled": counted("follow_ups_due", when="due_at"),
    "FollowUpOverdue": counted("follow_ups_overdue", when="due_at"),
    "FollowUpCompleted": follow_up_completed,
    "AccountOwnerChanged": handed_over,
}
# Facts about an employee, not a customer: flows only.
SUBJECT_RULES: dict[str, Callable[[Observed], list[Change]]] = {
    "EmployeeDeparted": lambda fact: [("departures", moment(fact, "departed_at"), 1)],
}


def subject_changes(fact: Observed) -> list[Change]:
    rule = SUBJECT_RULES.get(fact.event_type)
    return [("events", fact.at, 1), *(rule(fact) if rule else [])]
