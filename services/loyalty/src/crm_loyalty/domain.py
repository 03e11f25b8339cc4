"""Loyalty domain: accounts and the points ledger with its earning rules. Pure, no I/O.

Amounts are integers: points, and money in minor units. A ledger entry's id derives from
the event (or request) behind it, so a redelivered event finds its entry already there.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from crm_events import EventData
from crm_events.loyalty import TierChanged
from crm_loyalty.rules import Rules

OPEN, SETTLED = "open", "settled"
PENDING, POSTED, IGNORED = "pending", "posted", "ignored"
EARN, REVERSE, REDEEM, SETTLE = "earn", "reverse", "redeem", "settle"
EXPIRE, GOODWILL, GOODWILL_DEBIT = "expire", "goodwill", "goodwill-debit"
DEBITS = frozenset({REVERSE, REDEEM, SETTLE, EXPIRE, GOODWILL_DEBIT})

# (name of the derived event, payload): the name makes its id deterministic per cause.
Derived = tuple[str, EventData]

_ENTITY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


def entry_id(kind: str, source_id: str) -> str:
    """Ledger entry id ``<kind>:<source id>`` (hashed when the source id is not an EntityId)."""
    candidate = f"{kind}:{source_id}"
    if len(candidate) <= 100 and _ENTITY_ID.match(candidate):
        return candidate
    return f"{kind}:h{hashlib.sha256(source_id.encode()).hexdigest()[:40]}"


@dataclass
class Contribution:
    """One signed factor of the health score, kept so that the score can be explained."""

    code: str
    reason: str
    delta: int
    at: datetime
    count: int = 1  # > 1 for a roll-up of older contributions of the same code


@dataclass
class RiskEpisode:
    risk_id: str
    category: str
    opened_at: datetime
    cause_event_id: str
    score: int
    reasons: list[str]
    hard_signal: str | None = None


@dataclass
class Settlement:
    policy: str
    points: int
    amount_minor: int
    currency: str
    settled_at: datetime
    cause_event_id: str
    case_id: str | None = None
    written_off: int = 0  # negative balance (points owed) cancelled at settlement


@dataclass
class ReturnRecord:
    """A return of an order as the account took it (``counted``: posted, not ignored)."""

    return_id: str
    event_id: str
    amount_minor: int
    points: int
    base_points: int
    counted: bool


@dataclass
class OrderRecord:
    """The earn entry of an order, summarised on the account, and the order's returns."""

    earn_entry_id: str
    source_event_id: str
    currency: str
    amount_minor: int
    points: int
    base_points: int
    posted: bool
    returns: dict[str, ReturnRecord] = field(default_factory=dict)

    def earn(self, customer_id: str, at: datetime) -> LedgerEntry:
        """The earn entry as far as reversals need it."""
        return LedgerEntry(
            entry_id=self.earn_entry_id,
            customer_id=customer_id,
            kind=EARN,
            points=self.points,
            source_event_id=self.source_event_id,
            occurred_at=at,
            recorded_at=at,
            details={
                "amount_minor": self.amount_minor,
                "currency": self.currency,
                "base_points": self.base_points,
            },
            state=POSTED if self.posted else IGNORED,
        )

    def reversals(self, customer_id: str, at: datetime) -> list[LedgerEntry]:
        return [
            LedgerEntry(
                entry_id=entry_id(REVERSE, r.event_id),
                customer_id=customer_id,
                kind=REVERSE,
                points=r.points,
                source_event_id=r.event_id,
                occurred_at=at,
                recorded_at=at,
                reverses=self.earn_entry_id,
                details={
                    "amount_minor": r.amount_minor,
                    "return_id": r.return_id,
                    "base_points": r.base_points,
                },
                state=POSTED if r.counted else IGNORED,
            )
            for r in self.returns.values()
        ]


@dataclass(frozen=True)
class Lot:
    """Points credited together (one earn entry), with what is left of them."""

    entry_id: str
    earned_at: datetime
    points: int
    remaining: int
    expires_at: datetime | None = None
    warned_for: datetime | None = None  # the expiry date a PointsExpiring went out for

    def take(self, points: int) -> Lot:
        return replace(self, remaining=self.remaining - points)

    def expiring(self, at: datetime) -> Lot:
        return replace(self, expires_at=at)

    def warned(self, at: datetime) -> Lot:
        return replace(self, warned_for=at)


@dataclass(frozen=True)
class CapUsage:
    """Points credited in one cap period (kept until the period has ended)."""

    points: int
    until: datetime


@dataclass(frozen=True)
class HealthPoint:
    """One point of the score's history: the score after a change and what moved it."""

    customer_id: str
    at: datetime
    score: int
    previous_score: int
    code: str  # the contribution's reason code, or "window" when old ones stopped counting
    reason: str
    delta: int  # the contribution's own delta (the score may move less: it is clamped)
    weights_version: int
    cause_id: str


@dataclass(frozen=True)
class PendingDowngrade:
    """A downgrade decided at a tier review, effective after the grace window."""

    to_tier: str
    effective_at: datetime
    period_start: datetime
    period_end: datetime
    points: int  # qualifying points of the reviewed period


@dataclass
class Account:
    customer_id: str
    opened_at: datetime
    tier: str
    score: int
    status: str = OPEN
    balance: int = 0
    qualifying_points: int = 0
    version: int = 1
    contributions: dict[str, Contribution] = field(default_factory=dict)
    risk: RiskEpisode | None = None
    risk_episodes: int = 0
    last_hard_signal_at: datetime | None = None
    last_activity_at: datetime | None = None
    inactivity_due_at: datetime | None = None
    settlement: Settlement | None = None
    # Per order (keyed by ``map_key(order_id)``): what it earned and what returns reversed,
    # so that a return is decided on the account alone.
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    # Issue 9: risk episodes raised by strategy and regulation facts (their risk ids), and
    # the tombstone of a data disposal (the case that asked for it, and when).
    external_risks: list[str] = field(default_factory=list)
    erased_at: datetime | None = None
    erasure_case_id: str | None = None
    relationship_ended_at: datetime | None = None
    # True for accounts opened since they keep their orders: then ``orders`` knows every
    # order, and the ledger need not be asked (``decisions.legacy_order``).
    orders_complete: bool = False
    # Point lots by ``map_key(entry id)``; their sum is the available balance.
    lots: dict[str, Lot] = field(default_factory=dict)
    expiry_due_at: datetime | None = None  # next expiry warning or expiry of the lots
    # Points credited per cap scope and period (``<scope>__<period>``).
    cap_usage: dict[str, CapUsage] = field(default_factory=dict)
    # Tier qualification periods: qualifying points per month (``m<yyyymm>``), the next
    # review and a downgrade waiting for its grace window to end.
    monthly_points: dict[str, int] = field(default_factory=dict)
    tier_review_at: datetime | None = None
    pending_downgrade: PendingDowngrade | None = None
    birthday: str | None = None  # "MM-DD" (personal data: no year kept)
    birthday_due_at: datetime | None = None
    # Health history points of the decision in progress (entries; never stored here).
    history: list[HealthPoint] = field(default_factory=list)

    @property
    def next_due_at(self) -> datetime | None:
        """The earliest timer: the aggregate's one due date."""
        pending = self.pending_downgrade.effective_at if self.pending_downgrade else None
        timers = [
            self.inactivity_due_at,
            self.expiry_due_at,
            self.tier_review_at,
            pending,
            self.birthday_due_at,
        ]
        return min((t for t in timers if t is not None), default=None)

    def stop_timers(self) -> None:
        self.inactivity_due_at = None
        self.expiry_due_at = None
        self.tier_review_at = None
        self.pending_downgrade = None
        self.birthday_due_at = None

    @classmethod
    def open(cls, customer_id: str, at: datetime, rules: Rules, now: datetime) -> Account:
        """Registration counts as activity; the inactivity clock runs from when we learn of
        it, and a registration dated in the future counts as happening now."""
        periods = rules.earning.qualification != "lifetime"
        return cls(
            tier_review_at=rules.earning.next_review(now) if periods else None,
            customer_id=customer_id,
            opened_at=at,
            tier=rules.earning.entry_tier.code,
            score=rules.health.initial,
            last_activity_at=min(at, now),
            inactivity_due_at=now + rules.health.inactivity_period,
            orders_complete=True,
        )

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def enrolment(self, rules: Rules) -> Derived:
        return (
            "tier-changed",
            TierChanged(
                customer_id=self.customer_id,
                previous_tier=None,
                new_tier=self.tier,
                qualifying_points=0,
                reason="enrolled",
                qualification=rules.earning.qualification,
                required_points=rules.earning.entry_tier.threshold,
                next_review_at=self.tier_review_at,
            ),
        )


@dataclass(frozen=True)
class LedgerEntry:
    """``points`` is the magnitude; ``kind`` says whether it credits or debits the balance.

    ``state`` says whether the account took the entry into its balance (posted) or refused
    it (ignored, with a note); it is decided with the account change and never changes.
    ``pending`` only appears on entries written by the service before issue 7.
    """

    entry_id: str
    customer_id: str
    kind: str
    points: int
    source_event_id: str
    occurred_at: datetime
    recorded_at: datetime
    order_id: str | None = None
    reverses: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    state: str = PENDING
    note: str | None = None

    @property
    def delta(self) -> int:
        """The signed effect on the balance (none unless posted)."""
        if self.state != POSTED:
            return 0
        return -self.points if self.kind in DEBITS else self.points

    @property
    def base_points(self) -> int:
        return int(self.details.get("base_points", 0))


@dataclass(frozen=True)
class Posting:
    """What applying a ledger entry to the account produced."""

    derived: list[Derived]
    state: str = POSTED
    note: str | None = None
