"""Point lots: every credit is a lot (earned at, expires at, points left). Pure.

The available balance is the sum of the lots; a debit (redemption, settlement) takes the
oldest lots first, a reversal its own purchase's lot first. A balance below zero (a
return reversed points already spent) is a debt with no lots; the next credit pays it
first. Expiry only ever takes what is left in a lot, so it can never take points already
redeemed. Policies: ``none``; ``fixed`` (a lot expires N months after it was earned);
``activity`` (every lot expires M months after the last qualifying activity — each
activity moves all of them). A warning (``PointsExpiring``) goes out ``warning_days``
before a lot expires, once per lot and date.
"""

from __future__ import annotations

from datetime import datetime

from crm_loyalty.domain import Account, Lot
from crm_loyalty.rules import ExpiryPolicy
from crm_runtime.keys import map_key


def available(account: Account) -> int:
    return sum(lot.remaining for lot in account.lots.values())


def _oldest_first(account: Account) -> list[tuple[str, Lot]]:
    return sorted(account.lots.items(), key=lambda kv: (kv[1].earned_at, kv[1].entry_id))


def credit(
    account: Account, entry_id: str, points: int, earned_at: datetime, policy: ExpiryPolicy
) -> Lot | None:
    """Add points: pay any debt first, keep the rest as a lot (None when nothing is left)."""
    debt = max(-account.balance, 0)
    account.balance += points
    kept = points - min(points, debt)
    if kept <= 0:
        return None
    lot = Lot(entry_id, earned_at, kept, kept, expires_at=policy.expiry_for(earned_at))
    account.lots[map_key(entry_id)] = lot
    touch(account, earned_at, policy)  # activity policy: one date for the whole balance
    return account.lots[map_key(entry_id)]


def debit(account: Account, points: int, *, first: str | None = None) -> list[str]:
    """Take ``points`` from the lots (``first``: that entry's lot before the oldest); what
    the lots cannot cover becomes debt. Returns the entry ids of the lots drawn from."""
    account.balance -= points
    order = _oldest_first(account)
    if first is not None:
        order.sort(key=lambda kv: kv[1].entry_id != first)  # stable: oldest after it
    drawn: list[str] = []
    for key, lot in order:
        if points <= 0:
            break
        take = min(lot.remaining, points)
        if take > 0:
            account.lots[key] = lot.take(take)
            drawn.append(lot.entry_id)
            points -= take
    _drop_empty(account)
    return drawn


def touch(account: Account, at: datetime, policy: ExpiryPolicy) -> None:
    """A qualifying activity: under the activity policy every lot's expiry moves on."""
    if policy.kind != "activity":
        return
    expires = policy.expiry_for(at)
    assert expires is not None
    for key, lot in account.lots.items():
        if lot.expires_at is None or lot.expires_at < expires:
            account.lots[key] = lot.expiring(expires)


def expire(account: Account, now: datetime) -> tuple[int, list[str]]:
    """Remove what is left in every lot whose date has come; (points, lot entry ids)."""
    due = [(k, x) for k, x in _oldest_first(account) if x.expires_at and x.expires_at <= now]
    points = sum(lot.remaining for _, lot in due)
    for key, _ in due:
        del account.lots[key]
    account.balance -= points
    return points, [lot.entry_id for _, lot in due]


def to_warn(account: Account, now: datetime, policy: ExpiryPolicy) -> list[tuple[str, Lot]]:
    """Lots expiring within the warning window that have not been warned for that date."""
    horizon = now + policy.warning
    return [
        (k, lot)
        for k, lot in _oldest_first(account)
        if lot.expires_at is not None
        and lot.expires_at <= horizon
        and lot.warned_for != lot.expires_at
    ]


def next_due(account: Account, policy: ExpiryPolicy) -> datetime | None:
    """The next warning or expiry of the lots."""
    moments: list[datetime] = []
    for lot in account.lots.values():
        if lot.expires_at is None:
            continue
        moments.append(lot.expires_at)
        if lot.warned_for != lot.expires_at:
            moments.append(lot.expires_at - policy.warning)
    return min(moments, default=None)


def refresh_due(account: Account, policy: ExpiryPolicy) -> None:
    account.expiry_due_at = next_due(account, policy) if account.is_open else None


def clear(account: Account) -> None:
    account.lots.clear()
    account.expiry_due_at = None


def _drop_empty(account: Account) -> None:
    for key in [k for k, lot in account.lots.items() if lot.remaining <= 0]:
        del account.lots[key]
