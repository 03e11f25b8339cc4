"""Customer health score and risk episodes. Pure, no I/O.

score = clamp(initial + sum of contributions, 0, 100). Every contribution is kept (keyed by
the event behind it) so the score explains itself. Contributions older than the window
stop counting; beyond ``max_contributions`` the oldest are rolled up per reason code.
A risk episode opens when the score falls below the threshold or a hard signal arrives
(RiskDetected, once), and ends when the score is back above threshold + hysteresis and no
hard signal arrived within the hold period; only then may a new episode open.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from crm_events import deterministic_event_id
from crm_events.common import RiskCategory
from crm_events.loyalty import HealthScoreChanged, RiskDetected
from crm_loyalty.domain import Account, Contribution, Derived, HealthPoint, RiskEpisode
from crm_loyalty.rules import CustomerHealthRules

MAX_REASONS = 10
ROLLUP_PREFIX = "rollup-"


@dataclass(frozen=True)
class Signal:
    """What one consumed fact (or an inactive period) means for the health score."""

    key: str  # contribution key: derived from the source event id
    code: str  # snake_case reason code
    reason: str  # human-readable, no personal data
    delta: int
    at: datetime
    activity_at: datetime | None = None  # a contact or purchase: restarts the inactivity clock
    hard_signal: str | None = None  # event type of a hard risk signal

    def contribution(self) -> Contribution:
        return Contribution(code=self.code, reason=self.reason, delta=self.delta, at=self.at)

    def no_later_than(self, now: datetime) -> Signal:
        """A fact dated in the future (clock skew, bad data) counts as happening now: it must
        neither postpone the inactivity timer nor outlive the score's window."""
        activity = None if self.activity_at is None else min(self.activity_at, now)
        return replace(self, at=min(self.at, now), activity_at=activity)


def apply_signal(
    account: Account, signal: Signal, rules: CustomerHealthRules, now: datetime, cause_id: str
) -> list[Derived]:
    signal = signal.no_later_than(now)
    if signal.delta != 0:
        account.contributions[signal.key] = signal.contribution()
    if signal.activity_at is not None and account.is_open:
        record_activity(account, signal.activity_at, rules, now)
    if signal.hard_signal is not None:
        last = account.last_hard_signal_at
        account.last_hard_signal_at = now if last is None else max(last, now)
    hard = signal if signal.hard_signal is not None else None
    return rescore(account, rules, now, cause_id=cause_id, hard=hard, moved_by=signal)


def record_activity(
    account: Account, at: datetime, rules: CustomerHealthRules, now: datetime
) -> None:
    """Only newer activity moves the inactivity due date (late events cannot rewind it).

    The clock runs from when we learn of the activity (``at`` is never after ``now``):
    replaying old facts never back-dates (and so never bursts) inactivity penalties.
    """
    if account.last_activity_at is None or at > account.last_activity_at:
        account.last_activity_at = at
        account.inactivity_due_at = now + rules.inactivity_period


def rescore(
    account: Account,
    rules: CustomerHealthRules,
    now: datetime,
    *,
    cause_id: str,
    hard: Signal | None = None,
    moved_by: Signal | None = None,
) -> list[Derived]:
    previous = account.score
    prune(account, rules, now)
    account.score = score_of(account, rules)
    derived: list[Derived] = []
    if account.score != previous:
        account.history.append(_point(account, previous, now, rules, cause_id, moved_by))
        changed = HealthScoreChanged(
            customer_id=account.customer_id,
            score=account.score,
            previous_score=previous,
            contributions=by_code(account, rules),
        )
        derived.append(("health-score-changed", changed))
    risk = evaluate_risk(account, rules, now, cause_id, hard)
    if risk is not None:
        derived.append(("risk-detected", risk))
    return derived


def _point(
    account: Account,
    previous: int,
    now: datetime,
    rules: CustomerHealthRules,
    cause_id: str,
    moved_by: Signal | None,
) -> HealthPoint:
    """What moved the score: the new contribution, else the window dropping old ones."""
    if moved_by is not None and moved_by.delta != 0:
        code, reason, delta = moved_by.code, moved_by.reason, moved_by.delta
    else:
        code, reason = "window", f"contributions older than {rules.window_days} days dropped"
        delta = account.score - previous
    return HealthPoint(
        customer_id=account.customer_id,
        at=now,
        score=account.score,
        previous_score=previous,
        code=code,
        reason=reason,
        delta=delta,
        weights_version=rules.weights_version,
        cause_id=cause_id,
    )


def score_of(account: Account, rules: CustomerHealthRules) -> int:
    total = rules.initial + sum(c.delta for c in account.contributions.values())
    return max(0, min(100, total))


def by_code(account: Account, rules: CustomerHealthRules) -> dict[str, int]:
    totals = {"baseline": rules.initial}
    for contribution in account.contributions.values():
        totals[contribution.code] = totals.get(contribution.code, 0) + contribution.delta
    return totals


def prune(account: Account, rules: CustomerHealthRules, now: datetime) -> None:
    """Forget contributions older than the window; roll up the oldest beyond the cap."""
    horizon = now - rules.window
    kept = {k: c for k, c in account.contributions.items() if c.at >= horizon}
    singles = sorted(
        (item for item in kept.items() if not item[0].startswith(ROLLUP_PREFIX)),
        key=lambda item: (item[1].at, item[0]),
    )
    for key, old in singles[: max(len(singles) - rules.max_contributions, 0)]:
        del kept[key]
        rollup_key = ROLLUP_PREFIX + old.code.replace("_", "-")
        into = kept.get(rollup_key) or Contribution(old.code, "", 0, old.at, count=0)
        count = into.count + old.count
        kept[rollup_key] = Contribution(
            code=old.code,
            reason=f"{count} earlier {old.code.replace('_', ' ')} events",
            delta=into.delta + old.delta,
            at=max(into.at, old.at),
            count=count,
        )
    account.contributions = kept


def evaluate_risk(
    account: Account, rules: CustomerHealthRules, now: datetime, cause_id: str, hard: Signal | None
) -> RiskDetected | None:
    if account.risk is not None:
        if _recovered(account, rules, now):
            account.risk = None  # the episode is over; a later fall opens a new one
        return None
    if not account.is_open:
        return None
    if hard is None and account.score >= rules.risk_threshold:
        return None
    episode = RiskEpisode(
        risk_id=f"risk-{deterministic_event_id(cause_id, 'risk')}",
        category=_category(account, rules, hard),
        opened_at=now,
        cause_event_id=cause_id,
        score=account.score,
        reasons=_reasons(account, rules, hard),
        hard_signal=hard.hard_signal if hard else None,
    )
    account.risk = episode
    account.risk_episodes += 1
    return RiskDetected(
        customer_id=account.customer_id,
        risk_id=episode.risk_id,
        category=RiskCategory(episode.category),
        reasons=episode.reasons,
        score=episode.score,
        hard_signal=episode.hard_signal,
    )


def _recovered(account: Account, rules: CustomerHealthRules, now: datetime) -> bool:
    if account.score < rules.recovery_threshold:
        return False
    last_hard = account.last_hard_signal_at
    return last_hard is None or now - last_hard >= rules.hard_signal_hold


def _negatives(account: Account, hard: Signal | None) -> list[Contribution]:
    skip = hard.key if hard else None
    found = [c for k, c in account.contributions.items() if c.delta < 0 and k != skip]
    return sorted(found, key=lambda c: (c.delta, -c.at.timestamp()))


def _category(account: Account, rules: CustomerHealthRules, hard: Signal | None) -> str:
    default = RiskCategory.CUSTOMER_PERFORMANCE
    if hard is not None:
        return rules.risk_categories.get(hard.code, default).value
    totals: dict[RiskCategory, int] = {}
    for contribution in _negatives(account, None):
        category = rules.risk_categories.get(contribution.code, default)
        totals[category] = totals.get(category, 0) + contribution.delta
    if not totals:
        return default.value
    # Largest negative weight wins; a tie goes to customer performance.
    return min(totals, key=lambda cat: (totals[cat], cat != default)).value


def _reasons(account: Account, rules: CustomerHealthRules, hard: Signal | None) -> list[str]:
    lines: list[str] = []
    if hard is not None:
        lines.append(hard.reason)
    if account.score < rules.risk_threshold:
        lines.append(f"health score {account.score} below threshold {rules.risk_threshold}")
    lines.extend(f"{c.reason} ({c.delta:+d})" for c in _negatives(account, hard))
    return [line[:200] for line in lines[:MAX_REASONS]] or ["health score below threshold"]
