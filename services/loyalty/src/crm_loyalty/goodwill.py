"""Goodwill adjustments by a manager: a signed number of points with a reason, limited per
grant. Pure.

A credit is a lot like any award (it expires by the same policy), never counts towards
tiers, publishes ``PointsAwarded`` (reason ``goodwill``) and is itself a fact the earning
rules may react to (trigger ``goodwill_granted``). A debit corrects an earlier mistake: it
takes the oldest lots first, may not exceed the available balance, and publishes
``PointsReversed`` naming the adjustment itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_events.loyalty import PointsAwarded, PointsReversed
from crm_loyalty import lots
from crm_loyalty.domain import (
    GOODWILL,
    GOODWILL_DEBIT,
    POSTED,
    Account,
    Derived,
    LedgerEntry,
    entry_id,
)
from crm_loyalty.rules import EarningRules
from crm_runtime.errors import Conflict, DomainError


@dataclass(frozen=True)
class Adjustment:
    points: int  # signed, never 0
    reason: str
    reference: str | None
    granted_by: str  # role and key fingerprint, never a name


def adjustment_entry(
    customer_id: str, adjustment: Adjustment, request_id: str, now: datetime
) -> LedgerEntry:
    kind = GOODWILL if adjustment.points > 0 else GOODWILL_DEBIT
    return LedgerEntry(
        entry_id=entry_id(kind, request_id),
        customer_id=customer_id,
        kind=kind,
        points=abs(adjustment.points),
        source_event_id=request_id,
        occurred_at=now,
        recorded_at=now,
        details={
            "reason": adjustment.reason,
            "reference": adjustment.reference,
            "granted_by": adjustment.granted_by,
            "signed_points": adjustment.points,
        },
        state=POSTED,
        note=adjustment.reason,
    )


def check(account: Account, adjustment: Adjustment, limit: int) -> None:
    if not account.is_open:
        raise Conflict(f"account frozen: loyalty account {account.customer_id} is settled")
    if abs(adjustment.points) > limit:
        raise DomainError(f"adjustment of {adjustment.points} points exceeds the limit of {limit}")
    if adjustment.points < 0 and -adjustment.points > max(account.balance, 0):
        raise DomainError(
            f"insufficient balance: {max(account.balance, 0)} points available, "
            f"{-adjustment.points} to withdraw"
        )


def post(account: Account, entry: LedgerEntry, rules: EarningRules, now: datetime) -> list[Derived]:
    if entry.kind == GOODWILL:
        lot = lots.credit(account, entry.entry_id, entry.points, now, rules.expiry)
        lots.refresh_due(account, rules.expiry)
        awarded = PointsAwarded(
            entry_id=entry.entry_id,
            customer_id=account.customer_id,
            points=entry.points,
            reason="goodwill",
            source_event_id=entry.source_event_id,
            balance_after=max(account.balance, 0),
            expires_at=lot.expires_at if lot else None,
        )
        return [("points-awarded", awarded)]
    lots.debit(account, entry.points)
    lots.refresh_due(account, rules.expiry)
    reversed_ = PointsReversed(
        entry_id=entry.entry_id,
        customer_id=account.customer_id,
        points=entry.points,
        reversed_entry_id=entry.entry_id,
        source_event_id=entry.source_event_id,
        balance_after=account.balance,
    )
    return [("points-reversed", reversed_)]
