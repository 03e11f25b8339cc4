"""HTTP response models: a case as the API shows it (maps become ordered lists)."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, Field

from crm_offboarding.domain import Case, NegotiationRound, Risk
from crm_offboarding.lifecycle import allowed_actions

M = TypeVar("M", bound=BaseModel)


class RiskView(BaseModel):
    risk_id: str
    category: str
    reasons: list[str]
    score: int | None
    hard_signal: str | None
    detected_at: datetime


class OfferView(BaseModel):
    offer: str
    value_minor: int
    currency: str
    valid_until: datetime
    made_by: str


class TerminationView(BaseModel):
    compensation_minor: int
    currency: str
    reason: str
    decided_by: str


class RoundView(BaseModel):
    round: int
    channel: str
    participants: list[str]
    outcome: str
    notes: str | None
    held_at: datetime | None


class ExitView(BaseModel):
    effective_date: datetime
    compensation_minor: int
    currency: str
    terms: str
    agreed_by: str
    follow_up_until: datetime | None


class RetentionView(BaseModel):
    offer_accepted: bool
    retained_by: str


class CaseView(BaseModel):
    case_id: str
    customer_id: str
    state: str
    allowed: list[str] = Field(description="Actions allowed from the current state.")
    strategy: str | None
    opened_at: datetime
    updated_at: datetime
    strategy_chosen_at: datetime | None
    concluded_at: datetime | None
    risks: list[RiskView] = Field(description="Oldest first; the first opened the case.")
    offer: OfferView | None
    termination: TerminationView | None
    rounds: list[RoundView] = Field(description="Negotiation rounds, 1..n.")
    exit: ExitView | None
    retention: RetentionView | None
    version: int


class CaseList(BaseModel):
    items: list[CaseView] = Field(description="Newest first.")


def case_view(case: Case) -> CaseView:
    risks = sorted(case.risks.values(), key=lambda r: (r.detected_at, r.risk_id))
    return CaseView(
        case_id=case.case_id,
        customer_id=case.customer_id,
        state=case.state.value,
        allowed=[a.value for a in allowed_actions(case.state, case.strategy)],
        strategy=case.strategy.value if case.strategy else None,
        opened_at=case.opened_at,
        updated_at=case.updated_at,
        strategy_chosen_at=case.strategy_chosen_at,
        concluded_at=case.concluded_at,
        risks=[_risk(r) for r in risks],
        offer=_optional(OfferView, case.offer),
        termination=_optional(TerminationView, case.termination),
        rounds=[_round(case.rounds[n]) for n in sorted(case.rounds)],
        exit=_optional(ExitView, case.exit_agreement),
        retention=_optional(RetentionView, case.retention),
        version=case.version,
    )


def _optional(cls: type[M], value: object | None) -> M | None:
    return cls.model_validate(value, from_attributes=True) if value is not None else None


def _risk(risk: Risk) -> RiskView:
    return RiskView.model_validate(risk, from_attributes=True)


def _round(held: NegotiationRound) -> RoundView:
    return RoundView(round=held.number, **{k: v for k, v in vars(held).items() if k != "number"})
