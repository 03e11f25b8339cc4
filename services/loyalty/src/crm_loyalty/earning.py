"""The rule engine: what a fact earns under a rule book, within the caps. Pure.

For one fact, every valid rule of its trigger whose conditions hold fires. Fixed and
per-currency-unit rules each give base points; the highest matching multiplier (no
stacking) and the member's tier multiplier scale them. Caps then apply in order — the
rule's cap per member and period, the book's cap per member and period, the programme's
budget per period — and whatever they withhold is recorded as ``capped`` with the cap
that applied, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from crm_loyalty.domain import CapUsage as Usage
from crm_loyalty.rulebook import Cap, EarningRule, RuleBook, Scalar


@dataclass(frozen=True)
class Fact:
    """A consumed fact as the rules see it (``at``: when it happened, for validity and
    cap periods)."""

    trigger: str
    event_id: str
    at: datetime
    fields: dict[str, Scalar | None]


@dataclass(frozen=True)
class Award:
    rule_id: str
    version: int
    base: int  # before any multiplier
    points: int  # credited
    capped: int = 0  # withheld by ``cap``
    cap: str | None = None
    qualifying: bool = True
    multiplier_percent: int = 100  # promotional multiplier (the tier's is on the entry)
    multiplier_rule: str | None = None


@dataclass
class Outcome:
    version: int
    awards: list[Award] = field(default_factory=list)
    note: str | None = None

    @property
    def points(self) -> int:
        return sum(a.points for a in self.awards)

    @property
    def qualifying(self) -> int:
        return sum(a.base for a in self.awards if a.qualifying)

    @property
    def capped(self) -> int:
        return sum(a.capped for a in self.awards)

    def details(self) -> dict[str, object]:
        """The explanation stored on the ledger entry (a map: arrays hold scalars only)."""
        return {
            "rulebook_version": self.version,
            "capped": self.capped,
            "rules": {a.rule_id: _explain(a) for a in self.awards},
        }


def _explain(award: Award) -> dict[str, object]:
    return {
        "version": award.version,
        "base": award.base,
        "points": award.points,
        "capped": award.capped,
        "cap": award.cap,
        "multiplier_percent": award.multiplier_percent,
        "multiplier_rule": award.multiplier_rule,
        "qualifying": award.qualifying,
    }


@dataclass(frozen=True)
class Programme:
    """What the rules need besides the book: the currency and the member's tier."""

    currency: str
    minor_units_per_currency_unit: int
    tier_multiplier_percent: int


def evaluate(book: RuleBook, fact: Fact, programme: Programme) -> Outcome:
    """Awards before caps."""
    fired = [r for r in book.rules_for(fact.trigger) if r.valid_at(fact.at) and _holds(r, fact)]
    multipliers = [r for r in fired if r.action.kind == "multiplier"]
    best = max(multipliers, key=lambda r: (r.action.percent or 100, r.id), default=None)
    promo = (best.action.percent or 100) if best else 100
    outcome = Outcome(version=book.version)
    for rule in fired:
        if rule.action.kind == "multiplier":
            continue
        base = _base(rule, fact, programme)
        if base is None:
            outcome.note = (
                f"purchases in {fact.fields.get('currency')} earn no points "
                f"(programme currency {programme.currency})"
            )
            continue
        points = base * promo * programme.tier_multiplier_percent // 10_000
        award = Award(
            rule_id=rule.id,
            version=book.version,
            base=base,
            points=points,
            qualifying=rule.qualifying,
            multiplier_percent=promo,
            multiplier_rule=best.id if best else None,
        )
        outcome.awards.append(award)
    return outcome


def _holds(rule: EarningRule, fact: Fact) -> bool:
    return all(condition.holds(fact.fields) for condition in rule.conditions)


def _base(rule: EarningRule, fact: Fact, programme: Programme) -> int | None:
    points = rule.action.points or 0
    if rule.action.kind == "fixed":
        return points
    if fact.fields.get("currency") != programme.currency:
        return None
    amount = fact.fields.get("amount_minor")
    amount = amount if isinstance(amount, int) and not isinstance(amount, bool) else 0
    return amount * points // programme.minor_units_per_currency_unit


# --- caps ------------------------------------------------------------------------------------
def period_of(period: str, at: datetime) -> tuple[str, datetime]:
    """(key, end) of the calendar period (UTC) holding ``at``."""
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return f"d{day:%Y%m%d}", day + timedelta(days=1)
    if period == "week":
        start = day - timedelta(days=day.weekday())
        year, week, _ = day.isocalendar()
        return f"w{year}w{week:02d}", start + timedelta(days=7)
    if period == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        return f"m{start:%Y%m}", end
    start = day.replace(month=1, day=1)
    return f"y{start:%Y}", start.replace(year=start.year + 1)


def usage_key(scope: str, cap: Cap, at: datetime) -> tuple[str, datetime]:
    key, end = period_of(cap.period, at)
    return f"{scope}__{key}", end


def apply_caps(
    outcome: Outcome,
    book: RuleBook,
    at: datetime,
    usage: dict[str, Usage],
    budget_left: int | None = None,
) -> Outcome:
    """Cap each award (rule cap, then member cap, then budget) and count what was credited
    into ``usage``. ``budget_left``: what remains of the programme's budget, if any."""
    capped: list[Award] = []
    for award in outcome.awards:
        rule = next(r for r in book.rules if r.id == award.rule_id)
        limits: list[tuple[str, Cap, str]] = []
        if rule.cap is not None:
            limits.append((f"rule-{rule.id}", rule.cap, f"rule {rule.id}"))
        if book.member_cap is not None:
            limits.append(("member", book.member_cap, "member"))
        for scope, cap, label in limits:
            award = _limit(award, usage, scope, cap, at, label)
        if budget_left is not None and book.budget is not None:
            allowed = max(min(award.points, budget_left), 0)
            award = _withhold(
                award, award.points - allowed, _label("programme budget", book.budget)
            )
            budget_left -= allowed
        for scope, cap, _ in limits:
            key, end = usage_key(scope, cap, at)
            used = usage.get(key, Usage(0, end))
            usage[key] = Usage(used.points + award.points, end)
        capped.append(award)
    return Outcome(version=outcome.version, awards=capped, note=outcome.note)


def _limit(
    award: Award, usage: dict[str, Usage], scope: str, cap: Cap, at: datetime, label: str
) -> Award:
    key, _ = usage_key(scope, cap, at)
    used = usage[key].points if key in usage else 0
    allowed = max(min(award.points, cap.points - used), 0)
    return _withhold(award, award.points - allowed, _label(f"{label} cap", cap))


def _label(name: str, cap: Cap) -> str:
    return f"{name}: {cap.points} points per {cap.period}"


def _withhold(award: Award, excess: int, cap: str) -> Award:
    if excess <= 0:
        return award
    return replace(award, points=award.points - excess, capped=award.capped + excess, cap=cap)


def prune_usage(usage: dict[str, Usage], now: datetime) -> dict[str, Usage]:
    """Forget periods that ended more than a year ago (late facts of the last year still
    find their period's usage)."""
    horizon = now - timedelta(days=366)
    return {k: u for k, u in usage.items() if u.until >= horizon}
