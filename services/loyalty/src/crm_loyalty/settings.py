"""Loyalty settings: every variable is prefixed CRM_LOYALTY_ (e.g. CRM_LOYALTY_MONGO_URI).

Maps are JSON, e.g. CRM_LOYALTY_TIER_THRESHOLDS='{"bronze": 0, "silver": 1000}'.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import Field, NonNegativeInt, model_validator
from pydantic_settings import SettingsConfigDict

from crm_events.common import RiskCategory, Severity
from crm_loyalty.learning import LearningRules
from crm_loyalty.rules import (
    DEFAULT_COMPLAINT_DELTAS,
    DEFAULT_RISK_CATEGORIES,
    CustomerHealthRules,
    EarningRules,
    ExpiryPolicy,
    ExpiryPolicyKind,
    Qualification,
    Rules,
    SettlementPolicy,
    SettlementRules,
    Tier,
)
from crm_loyalty.weights import MAX_WEIGHT
from crm_runtime.settings import ServiceSettings

_TIER_CODE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")


class LoyaltySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_LOYALTY_", extra="ignore")

    service_name: str = "loyalty"
    mongo_database: str = "crm_loyalty"
    http_port: int = 8003

    # --- earning ---------------------------------------------------------------------
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$", description="Programme currency.")
    points_per_currency_unit: int = Field(1, ge=0)
    minor_units_per_currency_unit: int = Field(100, ge=1)
    tier_thresholds: dict[str, NonNegativeInt] = Field(
        default_factory=lambda: {"bronze": 0, "silver": 1000, "gold": 5000},
        description="Qualifying points needed per tier; one tier must start at 0.",
    )
    tier_multipliers_percent: dict[str, NonNegativeInt] = Field(
        default_factory=lambda: {"bronze": 100, "silver": 125, "gold": 150}
    )

    # --- earning rules and expiry (issue 11) --------------------------------------------
    rules_file: str | None = Field(
        None,
        description="JSON rule book (rules, caps, version) stored at start-up when newer "
        "than the stored one; without it and before any PUT /rules, the default rule book "
        "(POINTS_PER_CURRENCY_UNIT on every purchase) applies.",
    )
    rules_refresh_s: float = Field(
        5.0, ge=0, description="How long a replica reuses the rule book it last read."
    )
    expiry_policy: ExpiryPolicyKind = Field(
        "none",
        description="none, fixed (N months after earning) or activity (M months "
        "after the last qualifying activity).",
    )
    expiry_months: int = Field(12, ge=1, le=240)
    expiry_warning_days: int = Field(30, ge=0, le=3650)
    tier_qualification: Qualification = Field(
        "lifetime",
        description="lifetime (as before), rolling_12_months or calendar_year: how tiers "
        "qualify and when they are reviewed.",
    )
    tier_grace_days: int = Field(
        30, ge=0, le=3650, description="Days between a failed review and the downgrade."
    )
    goodwill_max_points: int = Field(
        5000, ge=1, le=100_000_000, description="Most points one goodwill adjustment moves."
    )

    # --- health and risk --------------------------------------------------------------
    health_initial: int = Field(70, ge=0, le=100)
    health_contact: int = 2
    health_purchase: int = 3
    health_complaint: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_COMPLAINT_DELTAS),
        description="Delta per complaint severity (low, medium, high, critical).",
    )
    health_sla_breach: int = -15
    health_survey_low: int = -15
    health_survey_high: int = 5
    survey_low_csat_max: int = Field(2, ge=1, le=5)
    survey_low_nps_max: int = Field(6, ge=0, le=10)
    survey_high_csat_min: int = Field(4, ge=1, le=5)
    survey_high_nps_min: int = Field(9, ge=0, le=10)
    health_inactivity: int = -10
    inactivity_days: int = Field(60, ge=1)
    health_payment_overdue: int = -15
    health_contract_breached: int = -20
    risk_threshold: int = Field(40, ge=0, le=100)
    risk_hysteresis: int = Field(10, ge=0, le=100)
    hard_signal_hold_days: int = Field(90, ge=0)
    health_window_days: int = Field(365, ge=1)
    health_max_contributions: int = Field(200, ge=10)
    # Lessons learned (issue 9): a preventable closed case strengthens each risk signal its
    # review names by ``step``, at most ``max_shift`` away from the configured weight.
    health_learning_enabled: bool = True
    health_learning_step: int = Field(2, ge=0, le=MAX_WEIGHT)
    health_learning_max_shift: int = Field(10, ge=0, le=2 * MAX_WEIGHT)
    risk_categories: dict[str, RiskCategory] = Field(
        default_factory=lambda: dict(DEFAULT_RISK_CATEGORIES),
        description="Risk category per reason code (others: customer_performance).",
    )

    # --- offboarding and bookkeeping --------------------------------------------------
    settlement_policy: SettlementPolicy = "cash_out"
    settle_at: Literal["exit_agreed", "relationship_ended"] = Field(
        "exit_agreed", description="Settle at the signed exit, or at the effective date."
    )
    cash_out_minor_per_point: int = Field(1, ge=0)
    voucher_minor_per_point: int = Field(1, ge=0)
    applied_retention_days: int = Field(
        90,
        ge=1,
        description="How long the accounts remember applied event ids (the store's "
        "APPLIED_MARKER_LIFETIME_S, unless that is set itself).",
    )

    @model_validator(mode="after")
    def _markers_live_the_retention(self) -> Self:
        if "applied_marker_lifetime_s" not in self.model_fields_set:
            self.applied_marker_lifetime_s = self.applied_retention_days * 86_400
        return self

    @model_validator(mode="after")
    def _tiers_are_consistent(self) -> Self:
        if set(self.tier_thresholds) != set(self.tier_multipliers_percent):
            raise ValueError("tier_thresholds and tier_multipliers_percent need the same tiers")
        if 0 not in self.tier_thresholds.values():
            raise ValueError("one tier must have threshold 0 (the tier every account starts in)")
        bad = [code for code in self.tier_thresholds if not _TIER_CODE.match(code)]
        if bad:
            raise ValueError(f"tier codes must be snake_case: {bad}")
        return self

    @model_validator(mode="after")
    def _every_severity_has_a_delta(self) -> Self:
        # A missing severity would silently contribute nothing to the health score.
        expected = sorted(severity.value for severity in Severity)
        if sorted(self.health_complaint) != expected:
            raise ValueError(f"health_complaint needs exactly the severities {expected}")
        return self

    def rules(self) -> Rules:
        return Rules(
            earning=EarningRules(
                currency=self.currency,
                points_per_currency_unit=self.points_per_currency_unit,
                minor_units_per_currency_unit=self.minor_units_per_currency_unit,
                tiers=tuple(
                    Tier(code, threshold, self.tier_multipliers_percent[code])
                    for code, threshold in sorted(self.tier_thresholds.items(), key=_by_value)
                ),
                expiry=ExpiryPolicy(
                    self.expiry_policy, self.expiry_months, self.expiry_warning_days
                ),
                qualification=self.tier_qualification,
                tier_grace_days=self.tier_grace_days,
                goodwill_limit=self.goodwill_max_points,
            ),
            health=self._health_rules(),
            settlement=SettlementRules(
                policy=self.settlement_policy,
                cash_out_minor_per_point=self.cash_out_minor_per_point,
                voucher_minor_per_point=self.voucher_minor_per_point,
                currency=self.currency,
                settle_at=self.settle_at,
            ),
        )

    def learning_rules(self) -> LearningRules:
        return LearningRules(
            enabled=self.health_learning_enabled,
            step=self.health_learning_step,
            max_shift=self.health_learning_max_shift,
        )

    def _health_rules(self) -> CustomerHealthRules:
        return CustomerHealthRules(
            initial=self.health_initial,
            contact=self.health_contact,
            purchase=self.health_purchase,
            complaint=dict(self.health_complaint),
            sla_breach=self.health_sla_breach,
            survey_low=self.health_survey_low,
            survey_high=self.health_survey_high,
            survey_low_csat_max=self.survey_low_csat_max,
            survey_low_nps_max=self.survey_low_nps_max,
            survey_high_csat_min=self.survey_high_csat_min,
            survey_high_nps_min=self.survey_high_nps_min,
            inactivity=self.health_inactivity,
            inactivity_days=self.inactivity_days,
            payment_overdue=self.health_payment_overdue,
            contract_breached=self.health_contract_breached,
            risk_threshold=self.risk_threshold,
            risk_hysteresis=self.risk_hysteresis,
            hard_signal_hold_days=self.hard_signal_hold_days,
            window_days=self.health_window_days,
            max_contributions=self.health_max_contributions,
            risk_categories=dict(self.risk_categories),
        )


def _by_value(item: tuple[str, int]) -> int:
    return item[1]
