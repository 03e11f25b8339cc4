"""HTTP response models: a case as the API shows it (maps become ordered lists)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from crm_events.offboarding import PersonalDataExported
from crm_offboarding.aftercare import AftercareRules, DataExport
from crm_offboarding.domain import Case, NegotiationRound, Risk
from crm_offboarding.lifecycle import allowed_actions
from crm_offboarding.work import next_action

M = TypeVar("M", bound=BaseModel)


class RiskView(BaseModel):
    risk_id: str
    category: str
    reasons: list[str]
    score: int | None
    hard_signal: str | None
    detected_at: datetime
    evidence: list[str] = Field(description="What backs a risk raised by hand.")
    raised_by: str | None = Field(description="Manager who raised it by hand; null: detected.")


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


class FollowUpView(BaseModel):
    number: int
    description: str
    done_by: str
    done_at: datetime


class HoldView(BaseModel):
    hold_id: str
    reason: str
    placed_by: str
    placed_at: datetime
    until: datetime | None
    released_at: datetime | None
    released_by: str | None


class AttestationView(BaseModel):
    service: str
    method: str
    legal_hold: bool
    attested_at: datetime
    erased_fields: list[str]
    records: int | None


class DisposalView(BaseModel):
    requested_at: datetime
    expected: list[str] = Field(description="Services that must attest.")
    attestations: list[AttestationView]
    missing: list[str] = Field(description="Expected services that have not attested yet.")
    overdue_at: datetime | None = Field(description="When the attestation deadline passed.")
    completed_at: datetime | None


class ReviewView(BaseModel):
    root_causes: list[str]
    preventable: bool
    late_signals: list[str]
    changes: list[str]
    summary: str
    reviewed_by: str
    reviewed_at: datetime


class AssessmentView(BaseModel):
    customer_value_minor: int
    currency: str
    contract_obligations: list[str]
    reasons: list[str]
    recommended_strategy: str
    assessed_by: str
    assessed_at: datetime


class CommunicationView(BaseModel):
    number: int
    goal: str
    audience: str
    channel: str
    scheduled_at: datetime
    planned_by: str
    held_at: datetime | None
    held_by: str | None
    outcome: str | None
    overdue_at: datetime | None


class ExportSummary(BaseModel):
    export_id: str
    requested_by: str
    requested_at: datetime
    expected: list[str]
    received: list[str]
    missing: list[str]
    delivered_at: datetime | None


class CaseView(BaseModel):
    case_id: str
    customer_id: str
    owner_id: str | None = Field(description="Case manager.")
    category: str = Field(description="Category of the risk that opened the case.")
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
    offer_expired_at: datetime | None
    ended_at: datetime | None = Field(description="When the relationship ended.")
    follow_up_until: datetime | None = Field(description="End of the follow-up service period.")
    follow_ups: list[FollowUpView] = Field(description="Follow-up service logged, 1..n.")
    holds: list[HoldView] = Field(description="Legal holds, placed and released.")
    on_hold: bool = Field(description="A legal hold stops the disposal now.")
    disposal: DisposalView | None
    review: ReviewView | None
    closed_at: datetime | None
    health_score: int | None = Field(description="Lowest health score among the risks.")
    assessment: AssessmentView | None
    communications: list[CommunicationView] = Field(description="The plan, 1..n.")
    exports: list[ExportSummary] = Field(description="Portability requests, oldest first.")
    version: int


class CaseList(BaseModel):
    items: list[CaseView] = Field(description="Newest first.")


class QueueItem(BaseModel):
    case_id: str
    customer_id: str
    state: str
    category: str
    owner_id: str | None
    opened_at: datetime
    age_days: int = Field(description="Whole days since the case was opened.")
    next_action: str = Field(description="What the case waits for next.")
    next_action_due: datetime | None
    overdue: bool = Field(description="The next action's moment has passed.")


class WorkQueue(BaseModel):
    items: list[QueueItem] = Field(description="Newest first.")


def queue_item(case: Case, now: datetime, rules: AftercareRules) -> QueueItem:
    action = next_action(case, now, rules)
    return QueueItem(
        case_id=case.case_id,
        customer_id=case.customer_id,
        state=case.state.value,
        category=case.category,
        owner_id=case.owner_id,
        opened_at=case.opened_at,
        age_days=max(0, (now - case.opened_at).days),
        next_action=action.what,
        next_action_due=action.due,
        overdue=action.overdue,
    )


def case_view(case: Case, now: datetime, rules: AftercareRules) -> CaseView:
    risks = sorted(case.risks.values(), key=lambda r: (r.detected_at, r.risk_id))
    return CaseView(
        case_id=case.case_id,
        customer_id=case.customer_id,
        owner_id=case.owner_id,
        category=case.category,
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
        offer_expired_at=case.offer_expired_at,
        ended_at=case.ended_at,
        follow_up_until=case.follow_up_ends(rules),
        follow_ups=[
            _optional_req(FollowUpView, case.follow_ups[n]) for n in sorted(case.follow_ups)
        ],
        holds=[_optional_req(HoldView, h) for h in case.holds.values()],
        on_hold=case.on_hold(now),
        disposal=_disposal(case),
        review=_optional(ReviewView, case.review),
        closed_at=case.closed_at,
        health_score=min((r.score for r in risks if r.score is not None), default=None),
        assessment=_optional(AssessmentView, case.assessment),
        communications=[
            _optional_req(CommunicationView, case.communications[n])
            for n in sorted(case.communications)
        ],
        exports=[
            export_summary(e) for e in sorted(case.exports.values(), key=lambda e: e.requested_at)
        ],
        version=case.version,
    )


def _optional_req(cls: type[M], value: object) -> M:
    return cls.model_validate(value, from_attributes=True)


def _disposal(case: Case) -> DisposalView | None:
    d = case.disposal
    if d is None:
        return None
    return DisposalView(
        requested_at=d.requested_at,
        expected=d.expected,
        attestations=[
            _optional_req(AttestationView, d.attestations[s]) for s in sorted(d.attestations)
        ],
        missing=d.missing,
        overdue_at=d.overdue_at,
        completed_at=d.completed_at,
    )


def _optional(cls: type[M], value: object | None) -> M | None:
    return cls.model_validate(value, from_attributes=True) if value is not None else None


def _risk(risk: Risk) -> RiskView:
    return RiskView.model_validate(risk, from_attributes=True)


def _round(held: NegotiationRound) -> RoundView:
    return RoundView(round=held.number, **{k: v for k, v in vars(held).items() if k != "number"})


def export_summary(export: DataExport) -> ExportSummary:
    return ExportSummary(
        export_id=export.export_id,
        requested_by=export.requested_by,
        requested_at=export.requested_at,
        expected=export.expected,
        received=sorted(export.sections),
        missing=export.missing,
        delivered_at=export.delivered_at,
    )


def export_bundle(case: Case, export: DataExport) -> dict[str, Any]:
    """The portability bundle: one section per service, each with its shape's version."""
    return {
        "export_id": export.export_id,
        "case_id": case.case_id,
        "customer_id": case.customer_id,
        "contract": PersonalDataExported.event_type(),
        "requested_at": export.requested_at.isoformat(),
        "delivered_at": None if export.delivered_at is None else export.delivered_at.isoformat(),
        "sections": {
            service: {
                "section_version": s.section_version,
                "exported_at": s.exported_at.isoformat(),
                "data": json.loads(s.section),
            }
            for service, s in sorted(export.sections.items())
        },
    }
