"""Ledger rules: what a return reverses, what a redemption needs, how tiers follow
(earning is ``awards``).

Pure functions over the domain types; each ``post_*`` changes the account (a copy, see
``decisions``) and returns the derived events (a ``Posting``) or says why the entry was
ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crm_events.loyalty import PointsRedeemed, PointsReversed
from crm_loyalty import lots, tiers
from crm_loyalty.domain import (
    IGNORED,
    POSTED,
    REVERSE,
    Account,
    Derived,
    LedgerEntry,
    Posting,
    entry_id,
)
from crm_loyalty.rules import EarningRules
from crm_loyalty.translate import Return
from crm_runtime.errors import Conflict, DomainError, Unprocessable


# --- reversal ----------------------------------------------------------------------------
def reversal_entry(
    earn: LedgerEntry,
    earlier: Sequence[LedgerEntry],
    data: Return,
    source_event_id: str,
    now: datetime,
) -> LedgerEntry:
    """Reverse in proportion to the amount returned, cumulatively over all returns of the
    order, so that returning everything reverses exactly what was earned. ``earlier`` are
    the order's reversals recorded by other events."""
    _check_return(earn, earlier, data)
    points, base_points = _still_to_reverse(earn, earlier, data.amount_minor)
    return LedgerEntry(
        entry_id=entry_id(REVERSE, source_event_id),
        customer_id=data.customer_id,
        kind=REVERSE,
        points=max(points, 0),
        source_event_id=source_event_id,
        occurred_at=data.returned_at,
        recorded_at=now,
        order_id=data.order_id,
        reverses=earn.entry_id,
        details={
            "amount_minor": data.amount_minor,
            "currency": data.currency,
            "return_id": data.return_id,
            "base_points": max(base_points, 0),
        },
    )


def _check_return(earn: LedgerEntry, earlier: Sequence[LedgerEntry], data: Return) -> None:
    """Refuse a return that can never apply (it goes to the DLQ with this reason)."""
    paid_in = earn.details["currency"]
    if data.currency != paid_in:
        raise Unprocessable(
            f"return {data.return_id} is in {data.currency} but order {data.order_id} "
            f"was paid in {paid_in}"
        )
    recorded = next((r for r in earlier if r.details.get("return_id") == data.return_id), None)
    if recorded is not None:
        raise Unprocessable(
            f"return {data.return_id} was already recorded by event {recorded.source_event_id}"
        )


def _still_to_reverse(
    earn: LedgerEntry, earlier: Sequence[LedgerEntry], amount_minor: int
) -> tuple[int, int]:
    """(points, qualifying points) this return reverses beyond what earlier returns did."""
    counted = [r for r in earlier if r.state != IGNORED]
    purchase = int(earn.details["amount_minor"])
    returned_before = sum(int(r.details["amount_minor"]) for r in earlier)
    returned = min(purchase, returned_before + amount_minor)
    earned, base = (earn.points, earn.base_points) if earn.state == POSTED else (0, 0)
    points = _share(earned, returned, purchase) - sum(r.points for r in counted)
    base_points = _share(base, returned, purchase) - sum(r.base_points for r in counted)
    return points, base_points


def _share(total: int, part: int, whole: int) -> int:
    """``total * part / whole`` rounded half up (0 when nothing was paid)."""
    if whole <= 0:
        return 0
    return (2 * total * part + whole) // (2 * whole)


def post_reversal(account: Account, entry: LedgerEntry, rules: EarningRules) -> Posting:
    if not account.is_open:
        return Posting([], IGNORED, f"account {account.status}: nothing to reverse")
    if entry.points == 0 and entry.base_points == 0:
        return Posting([], IGNORED, "the purchase left no points to reverse")
    # Its own purchase's lot first; may go negative: the points were already spent.
    lots.debit(account, entry.points, first=entry.reverses)
    lots.refresh_due(account, rules.expiry)
    tiers.count(account, -entry.base_points, entry.recorded_at, rules)
    derived: list[Derived] = []
    if entry.points > 0:
        reversed_ = PointsReversed(
            entry_id=entry.entry_id,
            customer_id=account.customer_id,
            points=entry.points,
            reversed_entry_id=entry.reverses or entry.entry_id,
            source_event_id=entry.source_event_id,
            balance_after=account.balance,
        )
        derived.append(("points-reversed", reversed_))
    return Posting(derived + tiers.retier(account, rules, entry.recorded_at))


# --- redemption ---------------------------------------------------------------------------
def check_redemption(account: Account, points: int) -> None:
    if not account.is_open:
        raise Conflict(
            f"account frozen: loyalty account {account.customer_id} is {account.status}, "
            "points can no longer be redeemed"
        )
    if account.balance < points:
        raise DomainError(
            f"insufficient balance: {max(account.balance, 0)} points available, {points} requested"
        )


def post_redemption(account: Account, entry: LedgerEntry, rules: EarningRules) -> Posting:
    check_redemption(account, entry.points)
    lots.debit(account, entry.points)  # oldest lots first
    lots.touch(account, entry.recorded_at, rules.expiry)  # a redemption is activity
    lots.refresh_due(account, rules.expiry)
    redeemed = PointsRedeemed(
        entry_id=entry.entry_id,
        customer_id=account.customer_id,
        points=entry.points,
        reward=entry.details["reward"],
        reference=entry.details.get("reference"),
        balance_after=account.balance,
    )
    return Posting([("points-redeemed", redeemed)])
