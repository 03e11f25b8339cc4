"""Offboarding domain: the dissolution case, its risks, strategy, rounds and outcome. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from crm_events import deterministic_event_id
from crm_offboarding.lifecycle import Action, CaseState, Strategy, next_state
from crm_runtime.errors import DomainError

# A round may be reported a little ahead of our clock (skew) but not in the future.
MAX_CLOCK_SKEW = timedelta(minutes=5)
RoundOutcome = Literal["continue", "agreement_reached", "stalled"]


def case_id_for(risk_event_id: str) -> str:
    """The case a risk opens is named after that risk event: a redelivery names the same."""
    return "obc-" + deterministic_event_id(risk_event_id, "offboarding-case")


@dataclass(frozen=True)
class Risk:
    risk_id: str
    category: str
    reasons: list[str]
    detected_at: datetime
    event_id: str
    score: int | None = None
    hard_signal: str | None = None


@dataclass(frozen=True)
class RiskNoticed:
    """A detected risk as offboarding takes it in (``translate.risk_noticed``)."""

    customer_id: str
    correlation_id: str  # of the RiskDetected: the journey a case it opens belongs to
    risk: Risk

    @property
    def event_id(self) -> str:
        return self.risk.event_id

    @property
    def risk_id(self) -> str:
        return self.risk.risk_id


@dataclass(frozen=True)
class RetentionOffer:
    offer: str
    value_minor: int
    currency: str
    valid_until: datetime
    made_by: str


@dataclass(frozen=True)
class TerminationPlan:
    compensation_minor: int
    currency: str
    reason: str
    decided_by: str


@dataclass(frozen=True)
class NegotiationRound:
    channel: str
    participants: list[str]
    outcome: RoundOutcome
    notes: str | None = None
    held_at: datetime | None = None  # defaults to when it was recorded
    number: int = 0  # assigned when recorded: 1..n


@dataclass(frozen=True)
class ExitAgreement:
    effective_date: datetime
    compensation_minor: int
    currency: str
    terms: str
    agreed_by: str
    follow_up_until: datetime | None = None


@dataclass(frozen=True)
class RetentionOutcome:
    offer_accepted: bool
    retained_by: str


@dataclass(frozen=True)
class OpenCaseMarker:
    """One per customer: the case open for them (None once retained), the risk that opened
    it — kept so that a case never written (crash) can be healed by anyone — and which of
    the customer's cases holds each risk id (risks are deduplicated per customer)."""

    customer_id: str
    case_id: str | None
    opening: RiskNoticed | None
    risks: dict[str, str] = field(default_factory=dict)  # risk id -> case id


@dataclass(frozen=True)
class Case:
    case_id: str
    customer_id: str
    state: CaseState
    opened_at: datetime
    updated_at: datetime
    opening_risk_id: str
    correlation_id: str  # of the RiskDetected that opened the case: one business journey
    last_event_id: str  # the case's latest published event: the cause of the next one
    risks: dict[str, Risk] = field(default_factory=dict)
    strategy: Strategy | None = None
    strategy_chosen_at: datetime | None = None
    offer: RetentionOffer | None = None
    termination: TerminationPlan | None = None
    rounds: dict[int, NegotiationRound] = field(default_factory=dict)
    exit_agreement: ExitAgreement | None = None
    retention: RetentionOutcome | None = None
    concluded_at: datetime | None = None
    version: int = 1

    @classmethod
    def open(cls, fact: RiskNoticed, *, opened_event_id: str, now: datetime) -> Case:
        return cls(
            case_id=case_id_for(fact.event_id),
            customer_id=fact.customer_id,
            state=CaseState.ASSESSMENT,
            opened_at=now,
            updated_at=now,
            opening_risk_id=fact.risk_id,
            correlation_id=fact.correlation_id,
            last_event_id=opened_event_id,
            risks={fact.risk_id: fact.risk},
        )

    def add_risk(self, risk: Risk, now: datetime) -> Case:
        return replace(self, risks={**self.risks, risk.risk_id: risk}, updated_at=now)

    def _next(self, action: Action) -> CaseState:
        return next_state(self.state, self.strategy, action)

    def choose_retention(self, offer: RetentionOffer, now: datetime) -> Case:
        state = self._next(Action.RETAIN)
        if offer.valid_until <= now:
            raise DomainError("valid_until must lie in the future")
        return replace(
            self, state=state, strategy=Strategy.RETAIN, offer=offer, strategy_chosen_at=now
        )

    def choose_termination(self, plan: TerminationPlan, now: datetime) -> Case:
        state = self._next(Action.TERMINATE)
        return replace(
            self, state=state, strategy=Strategy.TERMINATE, termination=plan, strategy_chosen_at=now
        )

    def record_round(self, held: NegotiationRound, now: datetime) -> tuple[Case, NegotiationRound]:
        state = self._next(Action.RECORD_ROUND)
        if held.held_at is not None and held.held_at > now + MAX_CLOCK_SKEW:
            raise DomainError("held_at lies in the future")
        number = max(self.rounds, default=0) + 1
        recorded = replace(held, number=number, held_at=held.held_at or now)
        return replace(self, state=state, rounds={**self.rounds, number: recorded}), recorded

    def conclude_exit(self, agreement: ExitAgreement, now: datetime) -> Case:
        state = self._next(Action.CONCLUDE_EXIT)
        if agreement.follow_up_until and agreement.follow_up_until < agreement.effective_date:
            raise DomainError("follow_up_until must not lie before effective_date")
        return replace(self, state=state, exit_agreement=agreement, concluded_at=now)

    def conclude_retention(self, outcome: RetentionOutcome, now: datetime) -> Case:
        state = self._next(Action.CONCLUDE_RETENTION)
        if outcome.offer_accepted and self.offer is not None and self.offer.valid_until < now:
            raise DomainError(
                f"the retention offer lapsed at {self.offer.valid_until.isoformat()}; "
                "it can no longer be accepted"
            )
        return replace(self, state=state, retention=outcome, concluded_at=now)
