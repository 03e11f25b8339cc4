"""Offboarding domain: the dissolution case, its risks, strategy, rounds and outcome. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from crm_events import deterministic_event_id
from crm_offboarding.aftercare import (
    AftercareRules,
    Attestation,
    DataExport,
    Disposal,
    ExportSection,
    FollowUpTask,
    LegalHold,
    Review,
    active_holds,
    hold_expiries,
)
from crm_offboarding.lifecycle import Action, CaseState, Strategy, next_state
from crm_offboarding.plan import (
    PLANNING_STATES,
    Assessment,
    PlannedCommunication,
    mark_overdue,
    next_planned,
)
from crm_runtime.errors import Conflict, DomainError, NotFound

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
    evidence: list[str] = field(default_factory=list)  # opened by hand: what backs it
    raised_by: str | None = None  # the manager who opened it by hand; None: detected


@dataclass(frozen=True)
class ManualRisk:
    """A risk a manager raises by hand (``POST /cases``)."""

    customer_id: str
    category: str
    reasons: list[str]
    evidence: list[str]
    opened_by: str
    owner_id: str | None = None


@dataclass(frozen=True)
class RiskNoticed:
    """A detected risk as offboarding takes it in (``translate.risk_noticed``)."""

    customer_id: str
    correlation_id: str  # of the RiskDetected: the journey a case it opens belongs to
    risk: Risk
    owner_id: str | None = None  # the case manager, when a manager opened it by hand

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
    offer_expired_at: datetime | None = None  # the offer lapsed unanswered
    termination: TerminationPlan | None = None
    rounds: dict[int, NegotiationRound] = field(default_factory=dict)
    exit_agreement: ExitAgreement | None = None
    retention: RetentionOutcome | None = None
    concluded_at: datetime | None = None
    owner_id: str | None = None
    ended_at: datetime | None = None
    follow_ups: dict[int, FollowUpTask] = field(default_factory=dict)
    holds: dict[str, LegalHold] = field(default_factory=dict)
    disposal: Disposal | None = None
    review: Review | None = None
    closed_at: datetime | None = None
    assessment: Assessment | None = None
    communications: dict[int, PlannedCommunication] = field(default_factory=dict)
    exports: dict[str, DataExport] = field(default_factory=dict)
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
            owner_id=fact.owner_id,
        )

    @property
    def category(self) -> str:
        """The category of the risk that opened the case (the work queue filters on it)."""
        return self.risks[self.opening_risk_id].category

    def add_risk(self, risk: Risk, now: datetime) -> Case:
        return replace(self, risks={**self.risks, risk.risk_id: risk}, updated_at=now)

    def _next(self, action: Action) -> CaseState:
        return next_state(self.state, self.strategy, action)

    def choose_retention(self, offer: RetentionOffer, now: datetime) -> Case:
        state = self._next(Action.RETAIN)
        if offer.valid_until <= now:
            raise DomainError("valid_until must lie in the future")
        return replace(
            self,
            state=state,
            strategy=Strategy.RETAIN,
            offer=offer,
            offer_expired_at=None,
            strategy_chosen_at=now,
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

    # --- assessment and communication plan (plan.py) --------------------------------------
    def assess(self, assessment: Assessment) -> Case:
        if self.state not in PLANNING_STATES:
            raise DomainError(f"a case in {self.state.value} is no longer assessed")
        return replace(self, assessment=assessment)

    def plan_communication(self, planned: PlannedCommunication) -> Case:
        self._planning()
        number = max(self.communications, default=0) + 1
        added = replace(planned, number=number)
        return replace(self, communications={**self.communications, number: added})

    def hold_communication(
        self, number: int, held_at: datetime, held_by: str, outcome: str
    ) -> tuple[Case, PlannedCommunication]:
        self._planning()
        planned = self.communications.get(number)
        if planned is None:
            raise NotFound(f"case {self.case_id} has no planned communication {number}")
        if not planned.pending:
            raise Conflict(f"communication {number} was held already")
        held = replace(planned, held_at=held_at, held_by=held_by, outcome=outcome)
        return replace(self, communications={**self.communications, number: held}), held

    def mark_communications_overdue(self, now: datetime) -> Case:
        return replace(self, communications=mark_overdue(self.communications, now))

    def communications_due(self) -> datetime | None:
        return next_planned(self.communications) if self.state in PLANNING_STATES else None

    def _planning(self) -> None:
        if self.state not in PLANNING_STATES:
            raise DomainError(f"no communication is planned for a case in {self.state.value}")

    # --- portability (aftercare.DataExport) ------------------------------------------------
    def request_export(self, export: DataExport) -> Case:
        if self.disposal is not None:
            raise DomainError("the customer's personal data was erased; nothing to export")
        if export.export_id in self.exports:
            raise Conflict(f"export {export.export_id} exists already")
        return replace(self, exports={**self.exports, export.export_id: export})

    def add_export_section(self, export_id: str, section: ExportSection, now: datetime) -> Case:
        export = self.exports.get(export_id)
        if export is None:
            raise DomainError(f"case {self.case_id} has no export {export_id}")
        added = replace(export, sections={**export.sections, section.service: section})
        if not added.missing and added.delivered_at is None:
            added = replace(added, delivered_at=now)
        return replace(self, exports={**self.exports, export_id: added})

    # --- after the exit (aftercare.py) -----------------------------------------------------
    def end_relationship(self, now: datetime) -> Case:
        return replace(self, state=self._next(Action.END_RELATIONSHIP), ended_at=now)

    def follow_up_ends(self, rules: AftercareRules) -> datetime | None:
        if self.ended_at is None or self.exit_agreement is None:
            return None
        agreed = self.exit_agreement.follow_up_until
        return agreed if agreed is not None else self.ended_at + rules.follow_up

    def end_follow_up(self) -> Case:
        return replace(self, state=self._next(Action.END_FOLLOW_UP))

    def log_follow_up(self, task: FollowUpTask) -> tuple[Case, FollowUpTask]:
        if self.state is not CaseState.ENDED:
            raise DomainError(
                f"follow-up tasks are logged while the relationship has ended "
                f"and its follow-up period runs, not in {self.state.value}"
            )
        logged = replace(task, number=max(self.follow_ups, default=0) + 1)
        return replace(self, follow_ups={**self.follow_ups, logged.number: logged}), logged

    def record_review(self, review: Review, now: datetime) -> Case:
        reviewed = replace(self, state=self._next(Action.RECORD_REVIEW), review=review)
        return reviewed.close_if_done(now)

    def close_if_done(self, now: datetime) -> Case:
        """Reviewed, and the disposal (an exit's only) attested by every service: closed."""
        if self.state is not CaseState.AWAITING_DISPOSAL or self.disposal_pending:
            return self
        return replace(self, state=self._next(Action.CLOSE), closed_at=now)

    @property
    def disposal_pending(self) -> bool:
        if self.exit_agreement is None:
            return False  # a retained customer stays; nothing is disposed of
        return self.disposal is None or self.disposal.completed_at is None

    def disposal_due(self, rules: AftercareRules) -> datetime | None:
        """When the erasure request goes out: the end plus the retention period, or when
        the last hold lapses, whichever is later; None while a hold has no end date."""
        if self.ended_at is None or self.disposal is not None:
            return None
        held = [h for h in self.holds.values() if h.released_at is None]
        if any(h.until is None for h in held):
            return None
        return max([self.ended_at + rules.retention, *hold_expiries(self.holds)])

    def request_disposal(self, rules: AftercareRules, event_id: str, now: datetime) -> Case:
        disposal = Disposal(requested_at=now, expected=list(rules.services), event_id=event_id)
        return replace(self, disposal=disposal)

    def attest(self, attestation: Attestation, now: datetime) -> Case:
        if self.disposal is None:
            raise DomainError(f"case {self.case_id} has not requested an erasure")
        attested = {**self.disposal.attestations, attestation.service: attestation}
        disposal = replace(self.disposal, attestations=attested)
        if not disposal.missing and disposal.completed_at is None:
            disposal = replace(disposal, completed_at=now)
        return replace(self, disposal=disposal).close_if_done(now)

    def mark_attestations_overdue(self, now: datetime) -> Case:
        assert self.disposal is not None
        return replace(self, disposal=replace(self.disposal, overdue_at=now))

    def attestations_due(self, rules: AftercareRules) -> datetime | None:
        d = self.disposal
        if d is None or d.completed_at is not None or d.overdue_at is not None:
            return None
        return d.requested_at + rules.attestation_deadline

    def place_hold(self, hold: LegalHold) -> Case:
        if self.disposal is not None:
            raise DomainError(
                f"the erasure was requested at {self.disposal.requested_at.isoformat()}; "
                "a hold can no longer stop it"
            )
        if hold.hold_id in self.holds:
            raise Conflict(f"hold {hold.hold_id} exists already")
        return replace(self, holds={**self.holds, hold.hold_id: hold})

    def release_hold(self, hold_id: str, released_by: str, now: datetime) -> Case:
        hold = self.holds.get(hold_id)
        if hold is None:
            raise NotFound(f"case {self.case_id} has no hold {hold_id}")
        if hold.released_at is not None:
            raise Conflict(f"hold {hold_id} was released already")
        released = replace(hold, released_at=now, released_by=released_by)
        return replace(self, holds={**self.holds, hold_id: released})

    def on_hold(self, now: datetime) -> bool:
        return bool(active_holds(self.holds, now))

    def next_due(self, rules: AftercareRules) -> datetime | None:
        """The next moment the clock moves this case (the store's durable due date)."""
        candidates = [
            self.state_due(rules),
            self.disposal_due(rules),
            self.attestations_due(rules),
            self.communications_due(),
        ]
        present = [c for c in candidates if c is not None]
        return min(present) if present else None

    def state_due(self, rules: AftercareRules) -> datetime | None:
        if self.state is CaseState.EXIT_AGREED and self.exit_agreement is not None:
            return self.exit_agreement.effective_date
        if self.state is CaseState.ENDED:
            return self.follow_up_ends(rules)
        if self.state in (CaseState.RETENTION, CaseState.NEGOTIATION) and self.offer_open:
            assert self.offer is not None
            return self.offer.valid_until
        return None

    @property
    def offer_open(self) -> bool:
        retaining = self.strategy is Strategy.RETAIN and self.offer is not None
        return retaining and self.offer_expired_at is None

    def expire_offer(self, now: datetime) -> Case:
        state = self._next(Action.EXPIRE_OFFER)
        return replace(self, state=state, strategy=None, offer_expired_at=now)
