"""Tiers with qualification periods (issue 11). Pure.

``lifetime`` (the default, as before): the tier follows lifetime qualifying points, up and
down at once. ``rolling_12_months`` / ``calendar_year``: qualifying points are kept per
calendar month; a member is **upgraded at once** when the points of the current window
reach a higher tier; at the **review** (12 months after the tier was reached or last
reviewed, or 1 January) the member requalifies on the period's points, or a downgrade of
**at most one level** is scheduled after the **grace window** — cancelled if the member
requalifies meanwhile. Every change publishes ``TierChanged`` with its reason and the
period's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_events.loyalty import TierChanged
from crm_loyalty.domain import Account, Derived, PendingDowngrade
from crm_loyalty.rules import EarningRules, add_months


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # exclusive


def month_key(at: datetime) -> str:
    return f"m{at:%Y%m}"


def window_at(rules: EarningRules, at: datetime) -> Window:
    """The qualification window holding ``at``: the 12 calendar months ending with ``at``'s
    month (rolling), or ``at``'s calendar year."""
    month = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if rules.qualification == "calendar_year":
        start = month.replace(month=1)
        return Window(start, start.replace(year=start.year + 1))
    return Window(add_months(month, -11), add_months(month, 1))


def reviewed_window(review_at: datetime) -> Window:
    """The 12 whole calendar months before the review's month (a calendar year's review is
    on 1 January: the year that ended)."""
    month = review_at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return Window(add_months(month, -12), month)


def points_in(account: Account, window: Window) -> int:
    first, last = month_key(window.start), month_key(window.end - timedelta(seconds=1))
    return max(sum(p for m, p in account.monthly_points.items() if first <= m <= last), 0)


def next_review(rules: EarningRules, after: datetime) -> datetime:
    return rules.next_review(after)


def count(account: Account, base_points: int, at: datetime, rules: EarningRules) -> None:
    """Qualifying points earned (or, negative, reversed) at ``at``."""
    account.qualifying_points = max(account.qualifying_points + base_points, 0)
    if rules.qualification == "lifetime":
        return
    key = month_key(at)
    account.monthly_points[key] = account.monthly_points.get(key, 0) + base_points
    horizon = month_key(add_months(at, -25))
    account.monthly_points = {m: p for m, p in account.monthly_points.items() if m >= horizon}


def ensure_period(account: Account, rules: EarningRules, now: datetime) -> None:
    """An account that has no review yet (new, or the policy changed) gets one; points from
    before periods count in the current month (nobody loses a tier retroactively)."""
    if rules.qualification == "lifetime" or account.tier_review_at is not None:
        return
    if not account.monthly_points and account.qualifying_points:
        account.monthly_points[month_key(now)] = account.qualifying_points
    account.tier_review_at = next_review(rules, now)


def retier(account: Account, rules: EarningRules, now: datetime) -> list[Derived]:
    """After qualifying points changed: lifetime moves both ways at once; periods only
    upgrade at once (downgrades wait for the review)."""
    if rules.qualification == "lifetime":
        new = rules.tier_for(account.qualifying_points)
        if new.code == account.tier:
            return []
        up = new.threshold > rules.rank(account.tier)
        return [_change(account, new.code, "qualified" if up else "downgraded", rules, None)]
    ensure_period(account, rules, now)
    window = window_at(rules, now)
    reached = rules.tier_for(points_in(account, window))
    if reached.threshold <= rules.rank(account.tier):
        return []
    account.pending_downgrade = None  # qualified again (or higher) during a grace window
    if rules.qualification == "rolling_12_months":
        account.tier_review_at = next_review(rules, now)  # a new tier period starts
    return [_change(account, reached.code, "qualified", rules, window)]


def review(account: Account, rules: EarningRules, now: datetime) -> list[Derived]:
    """At the review date: requalify, or schedule a one-level downgrade after the grace."""
    due = account.tier_review_at
    if rules.qualification == "lifetime" or due is None or due > now:
        return []
    window = reviewed_window(due)
    points = points_in(account, window)
    account.tier_review_at = next_review(rules, due)
    target = rules.tier_for(points)
    if target.threshold >= rules.rank(account.tier):
        account.pending_downgrade = None
        return []
    below = rules.one_below(account.tier)
    to = target if target.threshold >= below.threshold else below
    account.pending_downgrade = PendingDowngrade(
        to_tier=to.code,
        effective_at=due + rules.tier_grace,
        period_start=window.start,
        period_end=window.end,
        points=points,
    )
    return []


def downgrade(account: Account, rules: EarningRules, now: datetime) -> list[Derived]:
    """At the end of the grace window: downgrade unless the member requalified."""
    pending = account.pending_downgrade
    if pending is None or pending.effective_at > now:
        return []
    account.pending_downgrade = None
    current = rules.tier(account.tier).threshold
    if points_in(account, window_at(rules, now)) >= current:
        return []  # requalified during the grace window
    window = Window(pending.period_start, pending.period_end)
    return [_change(account, pending.to_tier, "downgraded", rules, window, pending.points)]


def _change(
    account: Account,
    tier: str,
    reason: str,
    rules: EarningRules,
    window: Window | None,
    points: int | None = None,
) -> Derived:
    previous, account.tier = account.tier, tier
    figures = account.qualifying_points if window is None else points_in(account, window)
    changed = TierChanged(
        customer_id=account.customer_id,
        previous_tier=previous,
        new_tier=tier,
        qualifying_points=figures if points is None else points,
        reason=reason,
        qualification=rules.qualification,
        period_start=window.start if window else None,
        period_end=window.end if window else None,
        required_points=rules.tier(tier).threshold,
        next_review_at=account.tier_review_at,
    )
    return ("tier-changed", changed)


def next_due(account: Account) -> datetime | None:
    pending = account.pending_downgrade.effective_at if account.pending_downgrade else None
    return min((t for t in (account.tier_review_at, pending) if t is not None), default=None)
