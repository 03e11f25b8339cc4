"""The loyalty programme's configurable rules (built from settings in ``settings.py``). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from crm_events.common import RiskCategory

SettlementPolicy = Literal["cash_out", "voucher", "forfeit"]


@dataclass(frozen=True)
class Tier:
    code: str
    threshold: int  # qualifying points needed
    multiplier_percent: int


ExpiryPolicyKind = Literal["none", "fixed", "activity"]
Qualification = Literal["lifetime", "rolling_12_months", "calendar_year"]


@dataclass(frozen=True)
class ExpiryPolicy:
    """``none``; ``fixed``: a lot expires ``months`` after it was earned; ``activity``:
    every lot expires ``months`` after the last qualifying activity."""

    kind: ExpiryPolicyKind = "none"
    months: int = 12
    warning_days: int = 30

    def expiry_for(self, earned_at: datetime) -> datetime | None:
        if self.kind == "none":
            return None
        return add_months(earned_at, self.months)

    @property
    def warning(self) -> timedelta:
        return timedelta(days=self.warning_days)


def add_months(at: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=at.tzinfo)
    last_day = (following - timedelta(days=1)).day
    return at.replace(year=year, month=month, day=min(at.day, last_day))


DEFAULT_TIERS = (Tier("bronze", 0, 100), Tier("silver", 1000, 125), Tier("gold", 5000, 150))


@dataclass(frozen=True)
class EarningRules:
    currency: str = "EUR"
    points_per_currency_unit: int = 1
    minor_units_per_currency_unit: int = 100
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    expiry: ExpiryPolicy = field(default_factory=ExpiryPolicy)
    qualification: Qualification = "lifetime"
    tier_grace_days: int = 30
    goodwill_limit: int = 5000  # points per adjustment, either sign

    def tier_for(self, qualifying_points: int) -> Tier:
        """The highest tier whose threshold the qualifying points reach."""
        reached = [t for t in self.tiers if t.threshold <= qualifying_points]
        return max(reached, key=lambda t: t.threshold, default=self.entry_tier)

    @property
    def entry_tier(self) -> Tier:
        return min(self.tiers, key=lambda t: t.threshold)

    def tier(self, code: str) -> Tier:
        """A tier by code; a code no longer configured earns like the entry tier."""
        return next((t for t in self.tiers if t.code == code), self.entry_tier)

    def rank(self, code: str) -> int:
        return self.tier(code).threshold

    def one_below(self, code: str) -> Tier:
        """The next lower tier (the entry tier stays where it is)."""
        lower = [t for t in self.tiers if t.threshold < self.rank(code)]
        return max(lower, key=lambda t: t.threshold, default=self.entry_tier)

    @property
    def tier_grace(self) -> timedelta:
        return timedelta(days=self.tier_grace_days)

    def next_review(self, after: datetime) -> datetime:
        """The next tier review: 1 January (calendar year) or 12 months on (rolling)."""
        if self.qualification == "calendar_year":
            return datetime(after.year + 1, 1, 1, tzinfo=after.tzinfo)
        return add_months(after, 12)


DEFAULT_COMPLAINT_DELTAS = {"low": -5, "medium": -10, "high": -15, "critical": -20}
DEFAULT_RISK_CATEGORIES = {
    # The customer's ability and willingness to perform (pay, keep the contract).
    "payment_overdue": RiskCategory.CUSTOMER_PERFORMANCE,
    "contract_breached": RiskCategory.CUSTOMER_PERFORMANCE,
    # Dissatisfaction and disengagement: the customer drifts towards alternatives.
    "inactivity": RiskCategory.MARKET_COMPETITION,
    "complaint_raised": RiskCategory.MARKET_COMPETITION,
    "complaint_sla_breached": RiskCategory.MARKET_COMPETITION,
    "survey_low": RiskCategory.MARKET_COMPETITION,
}


@dataclass(frozen=True)
class CustomerHealthRules:
    initial: int = 70
    contact: int = 2
    purchase: int = 3
    complaint: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_COMPLAINT_DELTAS))
    sla_breach: int = -15
    survey_low: int = -15
    survey_high: int = 5
    survey_low_csat_max: int = 2
    survey_low_nps_max: int = 6
    survey_high_csat_min: int = 4
    survey_high_nps_min: int = 9
    inactivity: int = -10
    inactivity_days: int = 60
    payment_overdue: int = -15
    contract_breached: int = -20
    risk_threshold: int = 40
    risk_hysteresis: int = 10
    hard_signal_hold_days: int = 90
    window_days: int = 365
    max_contributions: int = 200
    risk_categories: Mapping[str, RiskCategory] = field(
        default_factory=lambda: dict(DEFAULT_RISK_CATEGORIES)
    )
    weights_version: int = 1  # of the contribution weights (``weights.py``)

    @property
    def recovery_threshold(self) -> int:
        return self.risk_threshold + self.risk_hysteresis

    @property
    def inactivity_period(self) -> timedelta:
        return timedelta(days=self.inactivity_days)

    @property
    def hard_signal_hold(self) -> timedelta:
        return timedelta(days=self.hard_signal_hold_days)

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)


@dataclass(frozen=True)
class SettlementRules:
    policy: SettlementPolicy = "cash_out"
    cash_out_minor_per_point: int = 1
    voucher_minor_per_point: int = 1
    currency: str = "EUR"
    # When the account is settled: at the signed exit (points frozen then), or when the
    # relationship actually ends (points stay usable until the effective date).
    settle_at: str = "exit_agreed"

    def value_of(self, points: int) -> int:
        if self.policy == "cash_out":
            return points * self.cash_out_minor_per_point
        if self.policy == "voucher":
            return points * self.voucher_minor_per_point
        return 0


@dataclass(frozen=True)
class Rules:
    earning: EarningRules = field(default_factory=EarningRules)
    health: CustomerHealthRules = field(default_factory=CustomerHealthRules)
    settlement: SettlementRules = field(default_factory=SettlementRules)
