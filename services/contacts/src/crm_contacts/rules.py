"""Contacts' configurable rules, pure: classification from facts, segments, follow-up
cadence, and who takes over an account when its owner leaves. Every outcome names the rule
that produced it, so a change can always be explained."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crm_contacts.domain import EXITING, FORMER, Customer
from crm_events.common import CustomerClass
from crm_runtime.errors import DomainError

POTENTIAL, NEW, LOYAL, CHURNED = (c.value for c in CustomerClass)
RECENT = timedelta(days=30)


@dataclass(frozen=True)
class Rules:
    """Defaults follow seed 003; every value is a setting (``ContactsSettings``)."""

    loyal_purchases: int = 3  # K purchases ...
    loyal_window: timedelta = timedelta(days=365)  # ... within this window
    loyal_tiers: frozenset[str] = frozenset({"gold", "platinum"})  # or a tier this high
    churn_after: timedelta = timedelta(days=180)  # M days without purchase or contact
    cadence: dict[str, timedelta] = field(
        default_factory=lambda: {NEW: timedelta(days=14), LOYAL: timedelta(days=30)}
    )
    tier_cadence: dict[str, timedelta] = field(default_factory=dict)  # overrides by tier
    win_back_after: timedelta | None = timedelta(days=7)  # churned: one win-back visit
    qualifying_channels: frozenset[str] = frozenset({"phone", "visit", "meeting"})
    successor_roles: tuple[str, ...] = ("deputy", "sales", "member")
    manager_role: str = "manager"
    default_pool: tuple[str, ...] = ("account-pool",)


# --- classification ------------------------------------------------------------------------
def classify(customer: Customer, now: datetime, rules: Rules) -> tuple[str, str]:
    """The class the facts imply now, and the rule that says so."""
    current = customer.classification
    if customer.lifecycle == FORMER:
        return CHURNED, "relationship-ended"
    if customer.purchase_count == 0:
        return current, "unchanged"
    if current in (NEW, LOYAL) and _inactive(customer, now, rules):
        days = rules.churn_after.days
        return CHURNED, f"inactive: no purchase or contact for {days} days"
    if current == CHURNED and not _bought_since_churn(customer):
        return CHURNED, "unchanged"
    target, rule = _by_purchases(customer, rules)
    if target == current or (current == LOYAL and target == NEW):
        return current, "unchanged"  # loyalty is lost by inactivity, never by counting down
    return target, f"win-back, {rule}" if current == CHURNED else rule


def _by_purchases(customer: Customer, rules: Rules) -> tuple[str, str]:
    if recent_purchases(customer, rules) >= rules.loyal_purchases:
        window = rules.loyal_window.days
        return LOYAL, f"loyal: {rules.loyal_purchases}+ purchases within {window} days"
    if customer.tier in rules.loyal_tiers:
        return LOYAL, f"loyal: tier {customer.tier}"
    return NEW, "new: first purchase"


def due_of(customer: Customer, rules: Rules) -> datetime | None:
    """The customer's one due date, the earliest its state implies: an erasure to finish,
    the exit's effective date, the inactivity limit, the open follow-up's due date."""
    moments = [customer.erasure_due_at, inactivity_due(customer, rules)]
    if customer.lifecycle == EXITING:
        moments.append(customer.exit_effective_at)
    if customer.follow_up is not None and customer.follow_up.state == "due":
        moments.append(customer.follow_up.due_at)
    return min((m for m in moments if m is not None), default=None)


def inactivity_due(customer: Customer, rules: Rules) -> datetime | None:
    """When the customer churns unless it buys or is contacted again."""
    if customer.classification not in (NEW, LOYAL) or customer.lifecycle == FORMER:
        return None
    last = last_activity(customer)
    return None if last is None else last + rules.churn_after


def last_activity(customer: Customer) -> datetime | None:
    moments = [m for m in (customer.last_purchase_at, customer.last_contact_at) if m]
    return max(moments, default=None)


def recent_purchases(customer: Customer, rules: Rules) -> int:
    if customer.last_purchase_at is None:
        return 0
    since = customer.last_purchase_at - rules.loyal_window
    return sum(1 for p in customer.purchases.values() if p.counts and p.at > since)


def _inactive(customer: Customer, now: datetime, rules: Rules) -> bool:
    due = inactivity_due(customer, rules)
    return due is not None and now >= due


def _bought_since_churn(customer: Customer) -> bool:
    churned = next((c.at for c in reversed(customer.history) if c.classification == CHURNED), None)
    last = customer.last_purchase_at
    return churned is not None and last is not None and last > churned


# --- segments -------------------------------------------------------------------------------
def segments(customer: Customer, now: datetime, rules: Rules) -> list[str]:
    """Size band, purchase frequency and recency, loyalty tier — ``axis:band`` each."""
    size = "organisation" if customer.kind == "organisation" else "individual"
    found = [f"size:{size}", f"frequency:{_frequency(customer, rules)}"]
    found.append(f"recency:{_recency(customer, now, rules)}")
    if customer.tier:
        found.append(f"tier:{customer.tier}")
    return found


def _frequency(customer: Customer, rules: Rules) -> str:
    count = recent_purchases(customer, rules)
    if count >= 2 * rules.loyal_purchases:
        return "frequent"
    if count >= rules.loyal_purchases:
        return "regular"
    return "occasional" if count else "none"


def _recency(customer: Customer, now: datetime, rules: Rules) -> str:
    last = customer.last_purchase_at
    if last is None:
        return "never"
    if now - last <= RECENT:
        return "recent"
    return "lapsing" if now - last < rules.churn_after else "lapsed"


# --- follow-up cadence ----------------------------------------------------------------------
def cadence(customer: Customer, rules: Rules) -> timedelta | None:
    """How long until the next regular follow-up; None: no regular follow-up."""
    if customer.lifecycle in (EXITING, FORMER):
        return None
    if customer.classification == CHURNED:
        return None if customer.win_back_scheduled else rules.win_back_after
    found = [rules.cadence.get(customer.classification)]
    found.append(rules.tier_cadence.get(customer.tier or ""))
    return min((c for c in found if c is not None), default=None)


# --- reassignment -----------------------------------------------------------------------------
def choose_owner(
    customer: Customer, leaving: str, successor: str | None, departed: set[str], rules: Rules
) -> tuple[str, str]:
    """Who takes over from ``leaving``: the (live) successor, else the team by role, else
    the team's manager, else the default pool; never anyone who has left."""
    gone = departed | {leaving}
    if successor is not None and successor not in gone:
        return successor, "successor"
    team = {e: r for e, r in customer.team.items() if e not in gone}
    others = [r for r in sorted(set(team.values())) if r not in rules.successor_roles]
    for role in (*rules.successor_roles, *[r for r in others if r != rules.manager_role]):
        members = sorted(e for e, r in team.items() if r == role)
        if members:
            return members[0], f"team {role}"
    managers = sorted(e for e, r in team.items() if r == rules.manager_role)
    if managers:
        return managers[0], "team manager"
    pool = [e for e in rules.default_pool if e not in gone]
    if not pool:
        raise DomainError(f"no one is left to own customer {customer.customer_id}")
    digest = hashlib.sha256(customer.customer_id.encode()).digest()
    return pool[int.from_bytes(digest[:4], "big") % len(pool)], "default pool"
