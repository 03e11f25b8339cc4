"""Offboarding: freeze the account and settle its balance by the configured policy. Pure."""

from __future__ import annotations

from datetime import datetime

from crm_events.loyalty import LoyaltyAccountSettled
from crm_loyalty import lots
from crm_loyalty.domain import (
    POSTED,
    SETTLE,
    SETTLED,
    Account,
    Derived,
    LedgerEntry,
    Settlement,
    entry_id,
)
from crm_loyalty.rules import SettlementRules
from crm_loyalty.translate import Exit


def settle(
    account: Account, data: Exit, cause_id: str, rules: SettlementRules, now: datetime
) -> list[Derived]:
    """Freeze and settle in one change; a second exit (another case) changes nothing."""
    if account.settlement is not None:
        return []
    points = max(account.balance, 0)
    settlement = Settlement(
        policy=rules.policy,
        points=points,
        amount_minor=rules.value_of(points),
        currency=rules.currency,
        settled_at=now,
        cause_event_id=cause_id,
        case_id=data.case_id,
        written_off=-min(account.balance, 0),
    )
    account.settlement = settlement
    account.status = SETTLED
    account.balance = 0
    lots.clear(account)
    account.stop_timers()  # no inactivity checks or expiry for a relationship that has ended
    settled = LoyaltyAccountSettled(
        customer_id=account.customer_id,
        balance_points=points,
        settlement=rules.policy,
        amount_minor=settlement.amount_minor,
        currency=settlement.currency,
        settled_at=now,
        case_id=data.case_id,
    )
    return [("loyalty-account-settled", settled)]


def settlement_entry(account: Account) -> LedgerEntry | None:
    """The ledger line of a settlement (appended with the account change)."""
    settlement = account.settlement
    if settlement is None:
        return None
    return LedgerEntry(
        entry_id=entry_id(SETTLE, settlement.cause_event_id),
        customer_id=account.customer_id,
        kind=SETTLE,
        points=settlement.points,
        source_event_id=settlement.cause_event_id,
        occurred_at=settlement.settled_at,
        recorded_at=settlement.settled_at,
        details={
            "policy": settlement.policy,
            "amount_minor": settlement.amount_minor,
            "currency": settlement.currency,
            "case_id": settlement.case_id,
            "written_off": settlement.written_off,
        },
        state=POSTED,
    )
