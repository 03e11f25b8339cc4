"""Earning: a consumed fact → the rules' awards → one earn entry with its explanation, then
the credit (a lot), the tier and ``PointsAwarded``. Pure.

One entry per fact (``earn:<event id>``) however many rules fired: its ``details`` name the
rule book version and, per rule, the version, base points, multiplier, points credited and
points capped with the cap that applied. A purchase's entry is written even when it earns
nothing (ignored, with the reason); another fact writes an entry only when a rule fired.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from crm_events.loyalty import PointsAwarded
from crm_loyalty import lots, tiers
from crm_loyalty.domain import EARN, IGNORED, Account, CapUsage, Derived, LedgerEntry, Lot, Posting
from crm_loyalty.domain import entry_id as make_entry_id
from crm_loyalty.earning import Fact, Outcome, Programme, apply_caps, evaluate, prune_usage
from crm_loyalty.rulebook import RuleBook
from crm_loyalty.rules import EarningRules
from crm_loyalty.translate import Purchase

Reason = Literal["purchase", "contact", "survey", "goodwill", "birthday", "manual"]
REASONS: dict[str, Reason] = {
    "purchase_recorded": "purchase",
    "contact_logged": "contact",
    "survey_answered": "survey",
    "complaint_resolved": "goodwill",
    "birthday": "birthday",
    "goodwill_granted": "goodwill",
    # PointsAwarded v1's reason has no "referral" and a published enum does not grow in
    # place: a referral award says "manual"; rule_id and rule_points name the rule.
    "referral": "manual",
}


def purchase_fact(purchase: Purchase, tier: str) -> Fact:
    return Fact(
        trigger="purchase_recorded",
        event_id=purchase.event_id,
        at=purchase.purchased_at,
        fields={
            "amount_minor": purchase.amount_minor,
            "currency": purchase.currency,
            "items_count": purchase.items_count,
            "category": purchase.category,
            "channel": purchase.channel,
            "tier": tier,
        },
    )


def outcome_for(
    account: Account,
    fact: Fact,
    book: RuleBook,
    rules: EarningRules,
    budget_left: int | None = None,
) -> tuple[Outcome, dict[str, CapUsage]]:
    """The awards after caps, and the cap usage they leave (counted once posted)."""
    tier = rules.tier(account.tier)
    programme = Programme(
        rules.currency, rules.minor_units_per_currency_unit, tier.multiplier_percent
    )
    usage = dict(account.cap_usage)
    outcome = apply_caps(evaluate(book, fact, programme), book, fact.at, usage, budget_left)
    return outcome, usage


def award_entry(
    account: Account,
    fact: Fact,
    outcome: Outcome,
    rules: EarningRules,
    now: datetime,
    *,
    order_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> LedgerEntry:
    tier = rules.tier(account.tier)
    return LedgerEntry(
        entry_id=make_entry_id(EARN, fact.event_id),
        customer_id=account.customer_id,
        kind=EARN,
        points=outcome.points,
        source_event_id=fact.event_id,
        occurred_at=fact.at,
        recorded_at=now,
        order_id=order_id,
        details={
            **(details or {}),
            "trigger": fact.trigger,
            "base_points": outcome.qualifying,
            "multiplier_percent": tier.multiplier_percent,
            **outcome.details(),
        },
        note=_note(outcome),
    )


def _note(outcome: Outcome) -> str | None:
    if outcome.capped:
        caps = sorted({a.cap for a in outcome.awards if a.cap})
        return f"{outcome.capped} points capped ({'; '.join(caps)})"
    return outcome.note


def post_award(
    account: Account,
    entry: LedgerEntry,
    usage: dict[str, CapUsage],
    rules: EarningRules,
    now: datetime,
) -> Posting:
    """Credit the entry (a lot), count its cap usage, follow the tier; or say why not."""
    if not account.is_open:
        what = "purchases earn" if entry.order_id else "it earns"
        return Posting([], IGNORED, f"account {account.status}: {what} nothing")
    capped = int(entry.details.get("capped") or 0)
    if entry.points == 0 and entry.base_points == 0 and capped == 0:
        return Posting([], IGNORED, entry.note or "purchase too small to earn points")
    earned_at = min(entry.occurred_at, now)
    lot = lots.credit(account, entry.entry_id, entry.points, earned_at, rules.expiry)
    lots.touch(account, now, rules.expiry)
    lots.refresh_due(account, rules.expiry)
    tiers.count(account, entry.base_points, now, rules)
    account.cap_usage = prune_usage(usage, now)
    derived: list[Derived] = []
    if entry.points > 0:
        derived.append(("points-awarded", _awarded(account, entry, lot)))
    return Posting(derived + tiers.retier(account, rules, now))


def _awarded(account: Account, entry: LedgerEntry, lot: Lot | None) -> PointsAwarded:
    explained: dict[str, Any] = entry.details.get("rules") or {}
    main = max(explained.items(), key=lambda kv: (kv[1]["points"], kv[0]), default=None)
    return PointsAwarded(
        entry_id=entry.entry_id,
        customer_id=account.customer_id,
        points=entry.points,
        reason=REASONS.get(str(entry.details.get("trigger")), "manual"),
        source_event_id=entry.source_event_id,
        multiplier_percent=int(entry.details["multiplier_percent"]),
        # "Available" balance: points owed after a reversal are not available.
        balance_after=max(account.balance, 0),
        expires_at=lot.expires_at if lot else None,
        rule_id=main[0] if main else None,
        rulebook_version=entry.details.get("rulebook_version"),
        rule_points={rule: int(x["points"]) for rule, x in explained.items()} or None,
        capped_points=int(entry.details.get("capped") or 0) or None,
    )
