"""The account's timers, swept through its one due date (the earliest of them): the
inactivity check of the health score, and the lots' expiry warnings and expiries. Pure.

A sweep is applied under the marker ``due:<customer>:<due date>``; everything due by then
is handled in that one decision, and the next due date is always later than ``now``.
"""

from __future__ import annotations

import copy
from datetime import datetime

from crm_events.loyalty import PointsExpired, PointsExpiring
from crm_loyalty import birthday, lots, signals, tiers
from crm_loyalty.customer_health import apply_signal
from crm_loyalty.decisions import UNCHANGED, Earning, _changed, rule_award
from crm_loyalty.domain import EXPIRE, POSTED, Account, Derived, LedgerEntry, entry_id
from crm_loyalty.rulebook import RuleBook
from crm_loyalty.rules import Rules
from crm_runtime.store import Decision


def due_id(customer_id: str, due: datetime) -> str:
    return f"due:{customer_id}:{due.strftime('%Y%m%dT%H%M%S')}"


def due(
    state: Account | None,
    seen: datetime,
    *,
    rules: Rules,
    book: RuleBook,
    now: datetime,
    source: str,
) -> Decision[Account]:
    """Everything due by ``now`` on an account whose due date is still ``seen``."""
    if state is None or state.next_due_at != seen:
        return UNCHANGED  # a fact (or another sweeper) moved the timers meanwhile
    account = copy.deepcopy(state)
    if not account.is_open:
        account.stop_timers()  # no checks for a relationship that has ended
        return Decision(state=account, due=None)
    cause_id = due_id(account.customer_id, seen)
    derived: list[Derived] = []
    entries: list[LedgerEntry] = []
    derived += _warn(account, now, rules)
    expired = _expire(account, now, cause_id)
    if expired is not None:
        entries.append(expired[0])
        derived.append(expired[1])
    lots.refresh_due(account, rules.earning.expiry)
    derived += tiers.review(account, rules.earning, now)
    derived += tiers.downgrade(account, rules.earning, now)
    derived += _inactivity(account, now, rules, cause_id)
    celebrated = birthday.due(account, now)
    if celebrated is not None:
        award, posted = rule_award(account, Earning(celebrated, book), rules, now)
        entries += [award] if award is not None else []
        derived += posted
    return _changed(account, derived, cause_id, None, now, source, entries)


def _inactivity(account: Account, now: datetime, rules: Rules, cause_id: str) -> list[Derived]:
    """One inactivity contribution per period that passed without contact or purchase."""
    period_due = account.inactivity_due_at
    if period_due is None or period_due > now:
        return []
    account.inactivity_due_at = period_due + rules.health.inactivity_period
    signal = signals.inactivity(period_due, rules.health)
    return apply_signal(account, signal, rules.health, now, cause_id)


def _warn(account: Account, now: datetime, rules: Rules) -> list[Derived]:
    """One ``PointsExpiring`` per expiry date coming within the warning window."""
    by_date: dict[datetime, list[str]] = {}
    points: dict[datetime, int] = {}
    for key, lot in lots.to_warn(account, now, rules.earning.expiry):
        assert lot.expires_at is not None
        account.lots[key] = lot.warned(lot.expires_at)
        if lot.expires_at <= now:
            continue  # expires in this very sweep: PointsExpired says it
        by_date.setdefault(lot.expires_at, []).append(lot.entry_id)
        points[lot.expires_at] = points.get(lot.expires_at, 0) + lot.remaining
    balance = max(account.balance, 0)
    return [
        (
            f"points-expiring-{at.strftime('%Y%m%dT%H%M%S')}",
            PointsExpiring(
                customer_id=account.customer_id,
                points=points[at],
                expires_at=at,
                expiring_entry_ids=ids,
                balance=balance,
            ),
        )
        for at, ids in sorted(by_date.items())
        if points[at] > 0
    ]


def _expire(account: Account, now: datetime, cause_id: str) -> tuple[LedgerEntry, Derived] | None:
    points, expired_ids = lots.expire(account, now)
    if points <= 0:
        return None
    entry = LedgerEntry(
        entry_id=entry_id(EXPIRE, cause_id),
        customer_id=account.customer_id,
        kind=EXPIRE,
        points=points,
        source_event_id=cause_id,
        occurred_at=now,
        recorded_at=now,
        details={"lots": {f"lot{i}": lot_id for i, lot_id in enumerate(expired_ids)}},
        state=POSTED,
        note=f"{points} points expired unused",
    )
    expired = PointsExpired(
        entry_id=entry.entry_id,
        customer_id=account.customer_id,
        points=points,
        balance_after=max(account.balance, 0),
        expired_entry_ids=expired_ids,
    )
    return entry, ("points-expired", expired)
