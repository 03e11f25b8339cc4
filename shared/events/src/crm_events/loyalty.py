"""Facts published by the loyalty context: the points ledger, tiers, health score and risk."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from crm_events.base import EventData
from crm_events.common import (
    CurrencyCode,
    CustomerId,
    EntityId,
    Int64,
    Percent,
    Points,
    RiskCategory,
    ShortText,
    SignedPoints,
    Timestamp,
    TotalMinor,
)

EventRef = Annotated[
    str,
    Field(min_length=1, max_length=200, description="Id of the CloudEvent that caused this."),
]
EventTypeName = Annotated[
    str,
    Field(
        pattern=r"^crm\.[a-z]+\.[a-z]+(-[a-z]+)*\.v[0-9]+$",
        description="A CloudEvents type of this catalogue, e.g. crm.inbound.payment-overdue.v1.",
    ),
]
TierCode = Annotated[
    str,
    Field(
        min_length=1,
        max_length=30,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Loyalty tier code, e.g. bronze, silver, gold, platinum.",
    ),
]
RuleCode = Annotated[
    str,
    Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$", description="Id of an earning rule."),
]
ReasonCode = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_]*$")]
Score = Annotated[int, Field(ge=0, le=100)]
EarnedPoints = Annotated[
    Points, Field(ge=1, description="Points moved by this ledger entry (> 0).")
]


class _Loyalty(EventData):
    context = "loyalty"


class PointsAwarded(_Loyalty):
    """Points were credited; the ledger entry is keyed by the source event, so it happens once."""

    business_key = ("entry_id",)

    entry_id: EntityId = Field(description="Ledger entry id (derived from the source event).")
    customer_id: CustomerId
    points: EarnedPoints
    reason: Literal["purchase", "contact", "survey", "goodwill", "birthday", "manual"] = Field(
        description="Earning rule that fired."
    )
    source_event_id: EventRef
    multiplier_percent: Percent = Field(
        100, description="Tier multiplier applied, in percent (100 = none)."
    )
    balance_after: Points = Field(description="Available balance after this entry.")
    expires_at: Timestamp | None = Field(None, description="When these points expire, if ever.")
    rule_id: RuleCode | None = Field(
        None, description="Earning rule that credited the most points of this entry."
    )
    rulebook_version: Annotated[Int64, Field(ge=1)] | None = Field(
        None, description="Version of the earning rules that produced this award."
    )
    rule_points: dict[RuleCode, Points] | None = Field(
        None, description="Points credited per earning rule (rule id -> points)."
    )
    capped_points: Points | None = Field(
        None, description="Points the rules gave beyond a cap, withheld (see the ledger)."
    )


class PointsRedeemed(_Loyalty):
    """Points were spent on a reward."""

    business_key = ("entry_id",)

    entry_id: EntityId = Field(description="Ledger entry id.")
    customer_id: CustomerId
    points: EarnedPoints
    reward: ShortText = Field(description="What the points were exchanged for.")
    reference: EntityId | None = Field(
        None, description="Order, voucher or request id the redemption belongs to."
    )
    balance_after: Points = Field(description="Available balance after this entry.")


class PointsReversed(_Loyalty):
    """An earlier entry was undone (e.g. a purchase was returned)."""

    business_key = ("entry_id",)

    entry_id: EntityId = Field(description="Ledger entry id of the reversal.")
    customer_id: CustomerId
    points: EarnedPoints
    reversed_entry_id: EntityId = Field(description="Ledger entry that was undone.")
    source_event_id: EventRef
    balance_after: SignedPoints = Field(
        description="Balance after this entry; negative if the points were already spent."
    )


class PointsExpired(_Loyalty):
    """Points reached their expiry date unused and were removed from the balance."""

    business_key = ("entry_id",)

    entry_id: EntityId = Field(description="Ledger entry id of the expiry.")
    customer_id: CustomerId
    points: EarnedPoints
    balance_after: Points = Field(description="Available balance after this entry.")
    expired_entry_ids: list[EntityId] = Field(
        default_factory=list, description="Award entries whose points expired."
    )


class PointsExpiring(_Loyalty):
    """Points will expire on ``expires_at`` unless they are used first: a warning sent a
    configured number of days before, once per expiry date."""

    business_key = ("customer_id", "expires_at")

    customer_id: CustomerId
    points: EarnedPoints
    expires_at: Timestamp = Field(description="When these points expire.")
    expiring_entry_ids: list[EntityId] = Field(
        default_factory=list, max_length=1000, description="Award entries whose points expire."
    )
    balance: Points = Field(description="Available balance when the warning was sent.")


class TierChanged(_Loyalty):
    """The customer's loyalty tier changed (first enrolment, qualification or downgrade)."""

    # Tiers move up and down over the years; each change is a fact of its own.
    business_key = ()

    customer_id: CustomerId
    previous_tier: TierCode | None = Field(None, description="Tier before (none on enrolment).")
    new_tier: TierCode = Field(description="Tier from now on.")
    qualifying_points: Points = Field(description="Points in the qualification period.")
    reason: ShortText = Field(description="Why, e.g. qualified, downgraded, manual.")
    qualification: Literal["lifetime", "rolling_12_months", "calendar_year"] | None = Field(
        None, description="How qualifying points are counted."
    )
    period_start: Timestamp | None = Field(
        None, description="Start of the qualification period the figures are from."
    )
    period_end: Timestamp | None = Field(
        None, description="End (exclusive) of the qualification period."
    )
    required_points: Points | None = Field(
        None, description="Qualifying points the new tier requires."
    )
    next_review_at: Timestamp | None = Field(
        None, description="When the tier is next reviewed (none: lifetime qualification)."
    )


class HealthScoreChanged(_Loyalty):
    """The customer health score was recomputed; ``contributions`` explains the score."""

    # A recomputation; each one is a fact of its own.
    business_key = ()

    customer_id: CustomerId
    score: Score = Field(description="Health score now, 0 (lost) to 100 (thriving).")
    previous_score: Score | None = Field(None, description="Score before (none the first time).")
    contributions: dict[ReasonCode, Int64] = Field(
        default_factory=dict,
        description="Signed contribution of each factor (snake_case reason code -> points).",
    )


class RiskDetected(_Loyalty):
    """The relationship is at risk: the health score fell below its threshold or a hard
    signal (payment overdue, contract breach) arrived. Offboarding opens a case from it."""

    business_key = ("risk_id",)

    customer_id: CustomerId
    risk_id: EntityId = Field(description="Id of this risk (one per episode).")
    category: RiskCategory = Field(description="Risk category from the dissolution process.")
    reasons: list[ShortText] = Field(min_length=1, description="Human-readable reasons.")
    score: Score | None = Field(None, description="Health score when the risk was detected.")
    hard_signal: EventTypeName | None = Field(
        None, description="Event type of the hard signal that triggered it, if any."
    )


class LoyaltyAccountSettled(_Loyalty):
    """The loyalty account was frozen and its remaining balance settled at offboarding."""

    # Settled once per exit; the case id is optional, so there is no natural key.
    business_key = ()

    customer_id: CustomerId
    balance_points: Points = Field(description="Points balance that was settled.")
    settlement: Literal["cash_out", "forfeit", "voucher"] = Field(
        description="How the balance was settled."
    )
    amount_minor: TotalMinor = Field(description="Value paid or granted (0 when forfeited).")
    currency: CurrencyCode
    settled_at: Timestamp = Field(description="When the account was settled.")
    case_id: EntityId | None = Field(None, description="Offboarding case that caused it.")


LOYALTY_EVENTS: tuple[type[EventData], ...] = (
    PointsAwarded,
    PointsRedeemed,
    PointsReversed,
    PointsExpired,
    PointsExpiring,
    TierChanged,
    HealthScoreChanged,
    RiskDetected,
    LoyaltyAccountSettled,
)
