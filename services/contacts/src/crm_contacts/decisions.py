"""Contacts' rules as pure decisions: (customer, fact, context) → new state, events to
publish, due date, timeline entries. No I/O; the aggregate store applies them exactly once.

Every decision that changes a customer ends in ``settle``: segments are recomputed, the
classification follows the facts (publishing ``CustomerClassified`` with the rule that
fired), a follow-up is scheduled when the class asks for one, and the customer's one due
date is the earliest of what its state implies — an erasure to finish, the exit's
effective date, the moment it churns for inactivity, the open follow-up's due date.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from crm_contacts import domain, erasure, rules
from crm_contacts.domain import (
    ACTIVE,
    EXITING,
    FORMER,
    ClassChange,
    Customer,
    ExitAgreement,
    FollowUp,
    ProfileChange,
    Registration,
    RelationshipEnd,
    Retention,
    TimelineEntry,
    Touchpoint,
)
from crm_contacts.rules import CHURNED, Rules, due_of
from crm_events import CloudEvent, EventData, deterministic_event_id
from crm_events.common import CustomerClass
from crm_events.contacts import (
    CustomerClassified,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
)
from crm_runtime.errors import Conflict, MissingPrerequisite
from crm_runtime.store import Decision

Outcome = Decision[Customer]
HISTORY_KEPT = 50


@dataclass(frozen=True)
class Context:
    """What every decision may know besides the state and the fact."""

    rules: Rules
    source: str
    now: datetime
    cause_id: str  # the fact's event id: every derived event id derives from it
    correlation_id: str | None = None

    def event(self, data: EventData, *parts: str) -> CloudEvent:
        return data.to_event(
            source=self.source,
            event_id=deterministic_event_id(self.cause_id, *parts),
            time=self.now,
            correlation_id=self.correlation_id,
            causation_id=self.cause_id,
        )


def settle(
    ctx: Context,
    customer: Customer,
    publish: Sequence[CloudEvent] = (),
    entries: Sequence[TimelineEntry] = (),
    *,
    since: datetime | None = None,
) -> Outcome:
    """The state after a fact, with everything it implies; ``since``: when the next
    follow-up's cadence starts (default now)."""
    events, lines = list(publish), list(entries)
    segments = rules.segments(customer, ctx.now, ctx.rules)
    if segments != customer.segments:  # a copy only for a change: this runs for every fact
        customer = replace(customer, segments=segments)
    target, rule = rules.classify(customer, ctx.now, ctx.rules)
    if target != customer.classification:
        customer = _reclassify(ctx, customer, target, rule, events, lines)
    customer = _schedule_follow_up(ctx, customer, since or ctx.now, events, lines)
    return Decision(customer, publish=events, due=due_of(customer, ctx.rules), entries=lines)


def _reclassify(
    ctx: Context,
    customer: Customer,
    target: str,
    rule: str,
    events: list[CloudEvent],
    lines: list[TimelineEntry],
) -> Customer:
    previous = customer.classification
    change = ClassChange(ctx.now, previous, target, rule)
    data = CustomerClassified(
        customer_id=customer.customer_id,
        classification=CustomerClass(target),
        previous=CustomerClass(previous),
        reason=rule,
    )
    event = ctx.event(data, "classified")
    events.append(event)
    details = {"previous": previous, "classification": target, "rule": rule}
    lines.append(
        domain.lifecycle_entry(event.id, customer.customer_id, "classified", ctx.now, details)
    )
    churned = target == CHURNED
    return replace(
        customer,
        classification=target,
        history=[*customer.history, change][-HISTORY_KEPT:],
        win_back_scheduled=customer.win_back_scheduled and not churned,
    )


def _schedule_follow_up(
    ctx: Context,
    customer: Customer,
    since: datetime,
    events: list[CloudEvent],
    lines: list[TimelineEntry],
) -> Customer:
    open_ = customer.follow_up
    if open_ is not None:
        # The follow-up belongs to whoever owns the account now.
        if open_.owner_id == customer.owner_id:
            return customer
        return replace(customer, follow_up=replace(open_, owner_id=customer.owner_id))
    every = rules.cadence(customer, ctx.rules)
    if every is None or customer.lifecycle != ACTIVE:
        return customer
    number = customer.follow_ups + 1
    follow_up = FollowUp(
        f"fu-{number}-{customer.customer_id}", customer.owner_id, since, since + every
    )
    data = FollowUpScheduled(
        customer_id=customer.customer_id,
        follow_up_id=follow_up.follow_up_id,
        due_at=follow_up.due_at,
        owner_id=follow_up.owner_id,
    )
    event = ctx.event(data, "follow-up", follow_up.follow_up_id)
    events.append(event)
    details = {"follow_up_id": follow_up.follow_up_id, "due_at": follow_up.due_at.isoformat()}
    lines.append(
        domain.lifecycle_entry(
            event.id, customer.customer_id, "follow-up-scheduled", ctx.now, details
        )
    )
    return replace(
        customer,
        follow_up=follow_up,
        follow_ups=number,
        win_back_scheduled=customer.win_back_scheduled or customer.classification == CHURNED,
    )


# --- facts ------------------------------------------------------------------------------------
def register(
    state: Customer | None,
    fact: Registration,
    announce: Sequence[CloudEvent],
    ctx: Context,
) -> Outcome:
    entry = domain.registration_entry(fact.event_id, Customer.register(fact))
    if state is None:
        return settle(ctx, Customer.register(fact), announce, [entry])
    if state.registered_by == fact.event_id:
        return Decision(entries=[entry])  # a redelivery; the entry heals a lost one
    raise Conflict(f"customer {fact.customer_id} is already registered")


def update_profile(
    state: Customer | None,
    fact: ProfileChange,
    announce: Sequence[CloudEvent],
    gone: Collection[str],
    ctx: Context,
) -> Outcome:
    """``gone``: employees of the new team who have left — never put back on it."""
    known = _known(state, fact.customer_id, "profile update")
    changes = erasure.without_personal(known, dict(fact.changes))
    team = changes.pop("account_team", None)
    changed = replace(known, **changes)
    if team is not None:
        staying = [e for e in team if e != known.owner_id and e not in gone]
        members = {e: known.team.get(e, domain.MEMBER) for e in staying}
        changed = replace(changed, team=dict(sorted(members.items())))
    return settle(ctx, changed, announce, [domain.profile_entry(fact)])


def log_contact(
    state: Customer | None, fact: Touchpoint, announce: Sequence[CloudEvent], ctx: Context
) -> Outcome:
    known = _known(state, fact.customer_id, "contact logged")
    last = max(filter(None, (known.last_contact_at, fact.occurred_at)))
    touched = replace(known, last_contact_at=last)
    lines = [erasure.redacted(known, domain.contact_entry(fact))]
    open_ = known.follow_up
    satisfied = (
        open_ is not None
        and fact.channel in ctx.rules.qualifying_channels
        and fact.occurred_at >= open_.scheduled_at
    )
    if not satisfied:
        return settle(ctx, touched, announce, lines)
    assert open_ is not None
    details = {"follow_up_id": open_.follow_up_id, "was": open_.state, "channel": fact.channel}
    entry_id = deterministic_event_id(fact.event_id, "follow-up-done")
    lines.append(
        domain.lifecycle_entry(
            entry_id, known.customer_id, "follow-up-done", fact.occurred_at, details
        )
    )
    done = _completed(ctx, known.customer_id, open_, fact)
    return settle(
        ctx, replace(touched, follow_up=None), [*announce, done], lines, since=fact.occurred_at
    )


def _completed(ctx: Context, customer_id: str, open_: FollowUp, fact: Touchpoint) -> CloudEvent:
    data = FollowUpCompleted(
        customer_id=customer_id,
        follow_up_id=open_.follow_up_id,
        due_at=open_.due_at,
        completed_at=fact.occurred_at,
        employee_id=fact.employee_id,
        on_time=fact.occurred_at <= open_.due_at,
    )
    return ctx.event(data, "follow-up-completed", open_.follow_up_id)


def set_tags(state: Customer | None, tags: list[str], ctx: Context) -> Outcome:
    known = _known(state, "?", "tags")
    if known.tags == tags:
        return Decision()
    entry = domain.lifecycle_entry(
        ctx.cause_id, known.customer_id, "tags-changed", ctx.now, {"tags": tags}
    )
    return settle(ctx, replace(known, tags=tags), entries=[entry])


def exit_agreed(state: Customer | None, fact: ExitAgreement, ctx: Context) -> Outcome:
    known = _known(state, fact.customer_id, "exit agreed")
    if known.lifecycle == FORMER:
        return Decision()  # the relationship ended already (e.g. RelationshipEnded came first)
    exiting = replace(
        known, lifecycle=EXITING, exit_case_id=fact.case_id, exit_effective_at=fact.effective_date
    )
    entry = domain.case_entry(fact.case_id, fact.customer_id, "exit-agreed", fact.at)
    details = {"case_id": fact.case_id, "effective_date": fact.effective_date.isoformat()}
    return settle(ctx, exiting, entries=[replace(entry, details=details)])


def retained(state: Customer | None, fact: Retention, ctx: Context) -> Outcome:
    """Undoes an exit this customer is in for the same case; otherwise changes nothing."""
    known = _known(state, fact.customer_id, "retained")
    if known.lifecycle != EXITING or known.exit_case_id != fact.case_id:
        return Decision()
    active = replace(known, lifecycle=ACTIVE, exit_case_id=None, exit_effective_at=None)
    entry = domain.case_entry(fact.case_id, fact.customer_id, "retained", fact.at)
    details = {"case_id": fact.case_id, "offer_accepted": fact.offer_accepted}
    return settle(ctx, active, entries=[replace(entry, details=details)])


def relationship_ended(state: Customer | None, fact: RelationshipEnd, ctx: Context) -> Outcome:
    """Offboarding says the relationship ended: a former customer now, if not already (the
    exit timer and this event decide the same thing under the same derived ids)."""
    known = _known(state, fact.customer_id, "relationship ended")
    if known.lifecycle == FORMER:
        return Decision()
    ending = replace(known, lifecycle=EXITING, exit_case_id=fact.case_id)
    lines: list[TimelineEntry] = []
    return settle(ctx, _former(ending, fact.ended_at, lines), entries=lines)


def _former(customer: Customer, at: datetime, lines: list[TimelineEntry]) -> Customer:
    """The relationship ended (the exit's date passed, or offboarding said so): a former
    customer, no follow-up any more; ``settle`` classifies it churned."""
    details = {"case_id": customer.exit_case_id}
    lines.append(
        domain.lifecycle_entry(
            former_cause(customer), customer.customer_id, "relationship-ended", at, details
        )
    )
    return replace(customer, lifecycle=FORMER, follow_up=None)


# --- timers -----------------------------------------------------------------------------------
def timers(state: Customer | None, ctx: Context) -> Outcome:
    """Whatever has come due: the exit takes effect, the open follow-up is overdue, the
    customer churns for inactivity (``settle`` sees that from the facts and ``now``)."""
    if state is None:
        return Decision()
    customer, events, lines = state, list[CloudEvent](), list[TimelineEntry]()
    if customer.lifecycle == EXITING and _passed(customer.exit_effective_at, ctx.now):
        customer = _former(customer, ctx.now, lines)
    open_ = customer.follow_up
    if open_ is not None and open_.state == "due" and open_.due_at <= ctx.now:
        customer = replace(customer, follow_up=replace(open_, state="overdue"))
        events.append(_overdue(ctx, customer, open_))
    return settle(ctx, customer, events, lines)


def timer_cause(customer: Customer, rules_: Rules) -> str:
    """One apply per due moment: a sweep that sees the same due date again is a duplicate."""
    due = due_of(customer, rules_)
    return deterministic_event_id(customer.customer_id, "due", due.isoformat() if due else "-")


def _overdue(ctx: Context, customer: Customer, open_: FollowUp) -> CloudEvent:
    data = FollowUpOverdue(
        customer_id=customer.customer_id,
        follow_up_id=open_.follow_up_id,
        due_at=open_.due_at,
        owner_id=customer.owner_id,
    )
    return data.to_event(
        source=ctx.source,
        event_id=deterministic_event_id(customer.customer_id, open_.follow_up_id, "overdue"),
        time=ctx.now,
    )


def _passed(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and moment <= now


def former_cause(state: Customer) -> str:
    return deterministic_event_id(state.customer_id, "former", state.exit_case_id or "")


def _known(state: Customer | None, customer_id: str, what: str) -> Customer:
    if state is None:
        raise MissingPrerequisite(f"{what} for unknown customer {customer_id}")
    return state
