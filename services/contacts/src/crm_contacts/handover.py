"""Decisions about who holds a relationship: purchases and tiers that feed the
classification, a manager moving the owner or the team, and a departed employee's accounts
and team seats handed over. Pure; each ends in ``decisions.settle``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Literal

from crm_contacts import decisions, domain, rules
from crm_contacts.decisions import Context, Outcome, _known, settle
from crm_contacts.domain import (
    Customer,
    Departure,
    Purchase,
    PurchaseMade,
    PurchaseReturn,
    StaffDeparture,
    TierChange,
)
from crm_events import CloudEvent
from crm_events.contacts import (
    AccountOwnerChanged,
    AccountTeamChanged,
    EmployeeHandoverCompleted,
)
from crm_runtime.errors import Conflict, MissingPrerequisite
from crm_runtime.store import Decision

Reason = Literal["reassigned", "employee_departed"]


# --- facts that feed classification and segments ----------------------------------------------
def purchase(state: Customer | None, fact: PurchaseMade, ctx: Context) -> Outcome:
    known = _known(state, fact.customer_id, "purchase")
    if fact.order_id in known.purchases:
        return Decision()
    last = max(known.last_purchase_at or fact.at, fact.at)
    bought = {**known.purchases, fact.order_id: Purchase(fact.at, fact.amount_minor)}
    window = {k: p for k, p in bought.items() if p.at > last - ctx.rules.loyal_window}
    details = {"order_id": fact.order_id, "amount_minor": fact.amount_minor}
    entry = domain.lifecycle_entry(fact.event_id, fact.customer_id, "purchase", fact.at, details)
    count = known.purchase_count + 1
    bought_now = replace(known, purchases=window, purchase_count=count, last_purchase_at=last)
    return settle(ctx, bought_now, entries=[entry])


def purchase_returned(state: Customer | None, fact: PurchaseReturn, ctx: Context) -> Outcome:
    """A return lowers the order's weight in the frequency window; a fully returned order no
    longer counts towards loyalty. It never moves the class backwards by itself."""
    known = _known(state, fact.customer_id, "purchase returned")
    order = known.purchases.get(fact.order_id)
    if order is None and known.purchase_count == 0:
        raise MissingPrerequisite(f"return of order {fact.order_id} before any purchase")
    changed = known
    if order is not None:
        returned = replace(order, returned_minor=order.returned_minor + fact.amount_minor)
        changed = replace(known, purchases={**known.purchases, fact.order_id: returned})
    details = {"order_id": fact.order_id, "return_id": fact.return_id}
    kind = "purchase-returned"
    entry = domain.lifecycle_entry(fact.event_id, fact.customer_id, kind, fact.at, details)
    return settle(ctx, changed, entries=[entry])


def tier_changed(state: Customer | None, fact: TierChange, ctx: Context) -> Outcome:
    known = _known(state, fact.customer_id, "tier changed")
    if known.tier_at is not None and fact.at < known.tier_at:
        return Decision()  # reordered: the tier held is newer than this change
    details = {"previous_tier": fact.previous_tier, "new_tier": fact.new_tier}
    entry = domain.lifecycle_entry(
        fact.event_id, fact.customer_id, "tier-changed", fact.at, details
    )
    return settle(ctx, replace(known, tier=fact.new_tier, tier_at=fact.at), entries=[entry])


# --- a manager's commands -------------------------------------------------------------------------
def change_owner(state: Customer | None, new_owner: str, ctx: Context) -> Outcome:
    known = _known(state, "?", "owner change")
    if known.owner_id == new_owner:
        return Decision()
    team = {e: r for e, r in known.team.items() if e != new_owner}
    moved = replace(known, owner_id=new_owner, team=team)
    event, entry = _owner_changed(ctx, known, new_owner, "reassigned", "manager")
    return settle(ctx, moved, [event], [entry])


def set_team(state: Customer | None, members: Mapping[str, str], ctx: Context) -> Outcome:
    known = _known(state, "?", "team change")
    team = dict(sorted((e, r) for e, r in members.items() if e != known.owner_id))
    if team == known.team:
        return Decision()
    removed = sorted(set(known.team) - set(team))
    event, entry = _team_changed(ctx, known, team, removed, "reassigned")
    return settle(ctx, replace(known, team=team), [event], [entry])


# --- staff departure ---------------------------------------------------------------------------
def hand_over(
    state: Customer | None, leaving: Mapping[str, str | None], departed: set[str], ctx: Context
) -> Outcome:
    """``leaving``: departed employee → their live successor (or None). The customer's
    owner among them is replaced by the rule; their team seats are removed."""
    known = _known(state, "?", "hand-over")
    customer, events, lines = _handed_over(known, leaving, departed, ctx)
    if customer is known:
        return Decision()
    return settle(ctx, customer, events, lines)


def _handed_over(
    known: Customer, leaving: Mapping[str, str | None], departed: set[str], ctx: Context
) -> tuple[Customer, list[CloudEvent], list[domain.TimelineEntry]]:
    customer, events, lines = known, [], []
    owner = known.owner_id
    if owner in leaving:
        new_owner, rule = rules.choose_owner(known, owner, leaving[owner], departed, ctx.rules)
        event, entry = _owner_changed(ctx, known, new_owner, "employee_departed", rule)
        events.append(event)
        lines.append(entry)
        team = {e: r for e, r in known.team.items() if e != new_owner}
        departed_owners = sorted({*known.departed_owners, owner})
        customer = replace(customer, owner_id=new_owner, team=team, departed_owners=departed_owners)
    gone = sorted(set(customer.team) & set(leaving))
    if gone:
        team = {e: r for e, r in customer.team.items() if e not in leaving}
        event, entry = _team_changed(ctx, customer, team, gone, "employee_departed")
        events.append(event)
        lines.append(entry)
        members = sorted({*customer.departed_members, *gone})
        customer = replace(customer, team=team, departed_members=members)
    return customer, events, lines


def _owner_changed(
    ctx: Context, known: Customer, new_owner: str, reason: Reason, rule: str
) -> tuple[CloudEvent, domain.TimelineEntry]:
    data = AccountOwnerChanged(
        customer_id=known.customer_id,
        previous_owner_id=known.owner_id,
        new_owner_id=new_owner,
        reason=reason,
    )
    event = ctx.event(data, "owner", known.customer_id)
    details = {"previous_owner_id": known.owner_id, "new_owner_id": new_owner, "reason": reason}
    details["rule"] = rule
    return event, domain.lifecycle_entry(
        event.id, known.customer_id, "owner-changed", ctx.now, details
    )


def _team_changed(
    ctx: Context, known: Customer, team: dict[str, str], removed: list[str], reason: Reason
) -> tuple[CloudEvent, domain.TimelineEntry]:
    data = AccountTeamChanged(
        customer_id=known.customer_id, members=team, removed=removed, reason=reason
    )
    event = ctx.event(data, "team", known.customer_id)
    details = {"members": dict(team), "removed": removed, "reason": reason}
    return event, domain.lifecycle_entry(
        event.id, known.customer_id, "team-changed", ctx.now, details
    )


# --- the departure record ----------------------------------------------------------------------
def record_departure(
    state: Departure | None, fact: StaffDeparture, recheck_at: datetime
) -> Decision[Departure]:
    if state is not None:
        if state.recorded_by == fact.event_id:
            return Decision()
        raise Conflict(f"employee {fact.employee_id} has already departed")
    successor = None if fact.successor_id == fact.employee_id else fact.successor_id
    departure = Departure(fact.employee_id, fact.departed_at, successor, fact.event_id)
    departure = replace(departure, recheck_at=recheck_at)
    return Decision(departure, due=recheck_at)


def rechecked(state: Departure | None) -> Decision[Departure]:
    if state is None:
        return Decision()
    return Decision(replace(state, recheck_at=None), due=None)


def summarise(
    state: Departure | None, accounts: int, seats: int, ctx: Context, successor: str | None
) -> Decision[Departure]:
    """Counts are cumulative over every pass (a re-check may find more); a summary is
    published whenever they grow."""
    if state is None or (accounts, seats) == (state.accounts, state.seats):
        return Decision()
    data = EmployeeHandoverCompleted(
        employee_id=state.employee_id,
        successor_id=successor,
        accounts_reassigned=accounts,
        team_seats_removed=seats,
    )
    event = ctx.event(data, "handed-over", str(accounts), str(seats))
    counted = replace(state, accounts=accounts, seats=seats)
    return Decision(counted, publish=[event], due=state.recheck_at)  # the re-check stays


def register(
    state: Customer | None,
    fact: domain.Registration,
    announce: Sequence[CloudEvent],
    ctx: Context,
    leaving: Mapping[str, str | None],
) -> Outcome:
    """A registration naming people who have left: their places go where the rule says,
    in the same decision (the customer is never owned by someone gone, not even briefly)."""
    decided = decisions.register(state, fact, announce, ctx)
    if state is not None or not leaving or decided.state is None:
        return decided
    customer, events, lines = _handed_over(decided.state, leaving, set(leaving), ctx)
    return settle(ctx, customer, [*decided.publish, *events], [*decided.entries, *lines])
