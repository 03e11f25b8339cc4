"""Loyalty's decisions: pure functions ``(account | None) -> Decision`` over one fact and
``now``, applied by the aggregate store. Each works on a copy of the account, returns the
new state, the events to publish (ids derived from the cause: a re-decision re-creates
them), the inactivity due date and the ledger entries with their final state (posted or
ignored) — the rules the adapter used to hide (due dates, entry states) live here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from crm_events import CloudEvent, deterministic_event_id
from crm_loyalty import birthday, signals
from crm_loyalty.awards import award_entry, outcome_for, post_award, purchase_fact
from crm_loyalty.customer_health import Signal, apply_signal
from crm_loyalty.domain import (
    EARN,
    PENDING,
    POSTED,
    REDEEM,
    REVERSE,
    Account,
    Derived,
    LedgerEntry,
    OrderRecord,
    ReturnRecord,
    entry_id,
)
from crm_loyalty.earning import Fact
from crm_loyalty.ledger import (
    check_redemption,
    post_redemption,
    post_reversal,
    reversal_entry,
)
from crm_loyalty.rulebook import RuleBook
from crm_loyalty.rules import Rules
from crm_loyalty.settlement import settle as settle_account
from crm_loyalty.settlement import settlement_entry
from crm_loyalty.translate import Exit, Purchase, Registration, Return
from crm_runtime.errors import MissingPrerequisite, NotFound, Unprocessable
from crm_runtime.keys import map_key
from crm_runtime.store import Decision

Decide = Callable[[Account | None], Decision[Account]]
UNCHANGED: Decision[Account] = Decision()


def events(
    derived: Sequence[Derived], cause_id: str, cause: CloudEvent | None, now: datetime, source: str
) -> list[CloudEvent]:
    """Envelopes with ids derived from the cause: a redelivery re-creates the same ids."""
    return [
        payload.to_event(
            source=source,
            event_id=deterministic_event_id(cause_id, name),
            time=now,
            cause=cause,
        )
        for name, payload in derived
    ]


def _changed(
    account: Account,
    derived: Sequence[Derived],
    cause_id: str,
    cause: CloudEvent | None,
    now: datetime,
    source: str,
    entries: Sequence[LedgerEntry] = (),
) -> Decision[Account]:
    history, account.history = account.history, []
    return Decision(
        state=account,
        publish=events(derived, cause_id, cause, now, source),
        due=account.next_due_at,
        entries=[*entries, *history],
    )


def _existing(state: Account | None, missing: Callable[[], Exception]) -> Account:
    if state is None:
        raise missing()
    return copy.deepcopy(state)


def legacy_order(entries: Sequence[LedgerEntry]) -> OrderRecord | None:
    """An order as the ledger records it, for accounts written before the account kept its
    orders (``orders``): the first return of such an order moves it into the account. A
    pending entry (the pre-store service's unfinished write) does not count yet."""
    earn_ = next((e for e in entries if e.kind == EARN), None)
    if earn_ is None or earn_.state == PENDING:
        return None
    reversals = [e for e in entries if e.kind == REVERSE and e.state != PENDING]
    return OrderRecord(
        earn_entry_id=earn_.entry_id,
        source_event_id=earn_.source_event_id,
        currency=str(earn_.details.get("currency", "")),
        amount_minor=int(earn_.details.get("amount_minor", 0)),
        points=earn_.points,
        base_points=earn_.base_points,
        posted=earn_.state == POSTED,
        returns={
            map_key(str(r.details.get("return_id"))): ReturnRecord(
                return_id=str(r.details.get("return_id")),
                event_id=r.source_event_id,
                amount_minor=int(r.details.get("amount_minor", 0)),
                points=r.points,
                base_points=r.base_points,
                counted=r.state == POSTED,
            )
            for r in reversals
        },
    )


# --- points ---------------------------------------------------------------------------------
def register(
    state: Account | None, fact: Registration, *, rules: Rules, now: datetime, source: str
) -> Decision[Account]:
    """Open the account once; a second registration changes nothing."""
    if state is not None:
        return UNCHANGED
    account = Account.open(fact.customer_id, fact.registered_at, rules, now)
    birthday.learn(account, fact.date_of_birth, now)
    return _changed(account, [account.enrolment(rules)], fact.event_id, fact.cause, now, source)


def earn(
    state: Account | None,
    fact: Purchase,
    *,
    rules: Rules,
    book: RuleBook,
    now: datetime,
    source: str,
    legacy: OrderRecord | None = None,
    budget_left: int | None = None,
) -> Decision[Account]:
    """The earn entry (posted, or ignored with a note) and the purchase's health signal.
    ``legacy``: the order as the ledger knows it (see ``legacy_order``)."""
    account = _existing(
        state,
        lambda: MissingPrerequisite(
            f"purchase {fact.order_id} for unknown account {fact.customer_id}"
        ),
    )
    recorded = account.orders.get(map_key(fact.order_id))
    known = recorded or legacy
    if known is not None and known.source_event_id != fact.event_id:
        raise Unprocessable(
            f"order {fact.order_id} was already recorded by event {known.source_event_id}"
        )
    if recorded is not None:
        return UNCHANGED
    rule_fact = purchase_fact(fact, account.tier)
    outcome, usage = outcome_for(account, rule_fact, book, rules.earning, budget_left)
    details = {"amount_minor": fact.amount_minor, "currency": fact.currency}
    entry = award_entry(
        account, rule_fact, outcome, rules.earning, now, order_id=fact.order_id, details=details
    )
    posting = post_award(account, entry, usage, rules.earning, now)
    entry = replace(entry, state=posting.state, note=posting.note or entry.note)
    account.orders[map_key(fact.order_id)] = OrderRecord(
        earn_entry_id=entry.entry_id,
        source_event_id=fact.event_id,
        currency=fact.currency,
        amount_minor=fact.amount_minor,
        points=entry.points,
        base_points=entry.base_points,
        posted=entry.state == POSTED,
    )
    signal = signals.purchase_recorded(fact, fact.cause, rules.health)
    health = apply_signal(account, signal, rules.health, now, fact.event_id)
    derived = posting.derived + health
    return _changed(account, derived, fact.event_id, fact.cause, now, source, [entry])


def reverse(
    state: Account | None,
    fact: Return,
    *,
    rules: Rules,
    now: datetime,
    source: str,
    legacy: OrderRecord | None = None,
) -> Decision[Account]:
    """Reverse in proportion to the amount returned (see ``ledger.reversal_entry``).
    ``legacy``: the order as the ledger knows it (see ``legacy_order``)."""
    account = _existing(
        state,
        lambda: MissingPrerequisite(
            f"return {fact.return_id} for unknown account {fact.customer_id}"
        ),
    )
    order = account.orders.get(map_key(fact.order_id)) or copy.deepcopy(legacy)
    if order is None:
        raise MissingPrerequisite(
            f"return {fact.return_id} refers to order {fact.order_id} "
            "whose purchase has not been recorded yet"
        )
    done = order.returns.get(map_key(fact.return_id))
    if done is not None and done.event_id == fact.event_id:
        return UNCHANGED  # redelivered after its applied marker was forgotten
    earn_ = order.earn(account.customer_id, now)
    earlier = order.reversals(account.customer_id, now)
    entry = reversal_entry(earn_, earlier, fact, fact.event_id, now)
    posting = post_reversal(account, entry, rules.earning)
    entry = replace(entry, state=posting.state, note=posting.note or entry.note)
    account.orders[map_key(fact.order_id)] = order
    order.returns[map_key(fact.return_id)] = ReturnRecord(
        return_id=fact.return_id,
        event_id=fact.event_id,
        amount_minor=fact.amount_minor,
        points=entry.points,
        base_points=entry.base_points,
        counted=entry.state == POSTED,
    )
    return _changed(account, posting.derived, fact.event_id, fact.cause, now, source, [entry])


def settle(
    state: Account | None, fact: Exit, *, rules: Rules, now: datetime, source: str
) -> Decision[Account]:
    """Freeze and settle with the settlement's ledger line; a second exit changes nothing."""
    account = _existing(
        state, lambda: MissingPrerequisite(f"exit agreed for unknown account {fact.subject}")
    )
    if account.settlement is not None:
        return UNCHANGED
    derived = settle_account(account, fact, fact.event_id, rules.settlement, now)
    line = settlement_entry(account)
    entries = [line] if line is not None else []
    return _changed(account, derived, fact.event_id, fact.cause, now, source, entries)


def end_relationship(
    state: Account | None,
    fact: Exit,
    *,
    ended_at: datetime,
    rules: Rules,
    now: datetime,
    source: str,
) -> Decision[Account]:
    """The relationship ended: recorded on the account, and the account settled now if
    it was not at the exit (``SETTLE_AT=relationship_ended``, or the exit never seen)."""
    account = _existing(
        state, lambda: MissingPrerequisite(f"relationship ended for unknown account {fact.subject}")
    )
    if account.relationship_ended_at is not None:
        return UNCHANGED
    account.relationship_ended_at = ended_at
    if account.settlement is not None:
        return _changed(account, [], fact.event_id, fact.cause, now, source)
    derived = settle_account(account, fact, fact.event_id, rules.settlement, now)
    line = settlement_entry(account)
    entries = [line] if line is not None else []
    return _changed(account, derived, fact.event_id, fact.cause, now, source, entries)


def redemption_entry(
    customer_id: str,
    points: int,
    reward: str,
    reference: str | None,
    request_id: str,
    now: datetime,
) -> LedgerEntry:
    return LedgerEntry(
        entry_id=entry_id(REDEEM, request_id),
        customer_id=customer_id,
        kind=REDEEM,
        points=points,
        source_event_id=request_id,
        occurred_at=now,
        recorded_at=now,
        details={"reward": reward, "reference": reference},
        state=POSTED,
    )


def redeem(
    state: Account | None, entry: LedgerEntry, *, rules: Rules, now: datetime, source: str
) -> Decision[Account]:
    """Spend points, or refuse (frozen account, not enough points) without any write."""
    account = _existing(state, lambda: NotFound(f"loyalty account {entry.customer_id} not found"))
    check_redemption(account, entry.points)
    posting = post_redemption(account, entry, rules.earning)
    return _changed(account, posting.derived, entry.source_event_id, None, now, source, [entry])


# --- health -----------------------------------------------------------------------------------
def health_signal(
    state: Account | None,
    signal: Signal | None,
    cause: CloudEvent,
    *,
    rules: Rules,
    now: datetime,
    source: str,
    earning: Earning | None = None,
) -> Decision[Account]:
    """One contribution (keyed by the event), with HealthScoreChanged / RiskDetected, and
    what the earning rules award for the same fact (``earning``), in one decision."""
    customer_id = cause.subject
    what = signal.code if signal else (earning.fact.trigger if earning else "fact")
    account = _existing(
        state,
        lambda: MissingPrerequisite(f"{what.replace('_', ' ')} for unknown account {customer_id}"),
    )
    derived: list[Derived] = []
    entries: list[LedgerEntry] = []
    if earning is not None:
        entry, posted = rule_award(account, earning, rules, now)
        entries, derived = ([entry], posted) if entry is not None else ([], [])
    if signal is not None:
        derived += apply_signal(account, signal, rules.health, now, cause.id)
    return _changed(account, derived, cause.id, cause, now, source, entries)


@dataclass(frozen=True)
class Earning:
    """A fact for the earning rules, the book in force and the budget granted to it."""

    fact: Fact
    book: RuleBook
    budget_left: int | None = None


def rule_award(
    account: Account, earning: Earning, rules: Rules, now: datetime
) -> tuple[LedgerEntry | None, list[Derived]]:
    """A fact other than a purchase: an entry only when a rule fired and the account is
    open (nothing to explain otherwise)."""
    fact = replace(earning.fact, fields={**earning.fact.fields, "tier": account.tier})
    outcome, usage = outcome_for(account, fact, earning.book, rules.earning, earning.budget_left)
    if not outcome.awards or not account.is_open:
        return None, []
    entry = award_entry(account, fact, outcome, rules.earning, now)
    posting = post_award(account, entry, usage, rules.earning, now)
    return replace(entry, state=posting.state, note=posting.note or entry.note), posting.derived
