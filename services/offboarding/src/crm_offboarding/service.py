"""Use cases of the offboarding service: HTTP commands and consumed risks meet here, each
one decision applied by the aggregate store (a risk: routed on the customer's marker,
then taken by its case)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from crm_events import deterministic_event_id
from crm_offboarding import closing, codec, decisions
from crm_offboarding.aftercare import (
    AftercareRules,
    Attestation,
    ExportSection,
    FollowUpTask,
    LegalHold,
    Review,
)
from crm_offboarding.decisions import Step
from crm_offboarding.domain import (
    Case,
    ExitAgreement,
    ManualRisk,
    NegotiationRound,
    OpenCaseMarker,
    RetentionOffer,
    RetentionOutcome,
    Risk,
    RiskNoticed,
    TerminationPlan,
)
from crm_offboarding.plan import Assessment, PlannedCommunication
from crm_runtime.clock import Clock
from crm_runtime.errors import MissingPrerequisite, NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateConflict, AggregateStore, Decision

log = get_logger(__name__)
MarkerRule = Callable[[OpenCaseMarker | None], Decision[OpenCaseMarker]]
CaseRule = Callable[[Case | None], Decision[Case]]


class OffboardingService:
    def __init__(
        self,
        cases: AggregateStore[Case],
        markers: AggregateStore[OpenCaseMarker],
        clock: Clock,
        *,
        source: str,
        rules: AftercareRules | None = None,
    ) -> None:
        self.cases = cases
        self.markers = markers
        self._clock = clock
        self._source = source
        self.rules = rules or AftercareRules()

    def now(self) -> datetime:
        return self._clock.now()

    def event_id(self, action: str, case_id: str, idempotency_key: str | None) -> str:
        return command_event_id(self._source, action, case_id, idempotency_key)

    # --- consumed: crm.loyalty.risk-detected ----------------------------------------------
    async def risk_noticed(self, fact: RiskNoticed) -> bool:
        """Open a case for the customer, or add the risk to the case already open; True
        when this event's risk is new to the customer's cases."""
        marker = await self._route(fact, fact.event_id, lambda m: decisions.route(m, fact))
        taken = await self._take(fact, marker)
        if taken is not None:
            return taken
        # Routed to a case concluded meanwhile (its marker not released yet): reroute once.
        stale = marker.risks[fact.risk_id]
        cause = deterministic_event_id(fact.event_id, "reroute", stale)
        marker = await self._route(fact, cause, lambda m: decisions.reroute(m, fact, stale))
        taken = await self._take(fact, marker)
        if taken is None:
            raise AggregateConflict(f"risk {fact.risk_id}: the customer's open case kept changing")
        return taken

    async def _route(self, fact: RiskNoticed, event_id: str, rule: MarkerRule) -> OpenCaseMarker:
        routed = await self.markers.apply(fact.customer_id, event_id, rule)
        assert routed.state is not None  # routing always leaves a marker
        return routed.state

    async def _take(self, fact: RiskNoticed, marker: OpenCaseMarker) -> bool | None:
        """Whether the case took the risk as new; None when it takes no more risks."""
        case_id = marker.risks[fact.risk_id]
        seed = marker.opening if marker.case_id == case_id else None
        now = self._clock.now()
        try:
            taken = await self.cases.apply(
                case_id,
                fact.event_id,
                lambda c: decisions.take_risk(
                    c, fact, seed, now, source=self._source, rules=self.rules
                ),
            )
        except decisions.CaseConcluded:
            return None
        held = None if taken.state is None else taken.state.risks.get(fact.risk_id)
        if held is None:
            return False  # a case that is nowhere, nor has a seed: nothing to add to
        if taken.applied and held.event_id == fact.event_id:
            log.info("offboarding_risk_taken", case_id=case_id, risk_id=fact.risk_id)
            return True
        return False

    # --- a case opened by hand (HTTP) ------------------------------------------------------
    async def open_manually(self, raised: ManualRisk, event_id: str) -> Case:
        """A manager's risk: opens a case, or joins the customer's open case like any risk."""
        risk = Risk(
            risk_id="manual-" + event_id,
            category=raised.category,
            reasons=raised.reasons,
            detected_at=self._clock.now(),
            event_id=event_id,
            evidence=raised.evidence,
            raised_by=raised.opened_by,
        )
        owner = raised.owner_id or raised.opened_by
        await self.risk_noticed(RiskNoticed(raised.customer_id, event_id, risk, owner))
        marker = await self.markers.get(raised.customer_id)
        assert marker is not None  # routing the risk wrote it
        return await self.case(marker.risks[risk.risk_id])

    # --- the clock and the other services' attestations ---------------------------------
    async def on_due(self, case: Case, now: datetime) -> None:
        """Sweeper: the effective date, follow-up end, retention period, attestation deadline
        or offer expiry of this case has come (applied once per due moment).

        Found before its moment (a stored due date the rules now put later, or a server
        comparing timestamps coarsely), the case only gets its due date rewritten, under a
        marker of its own: the due moment's marker stays free for when it comes."""
        due = case.next_due(self.rules)
        rule: CaseRule
        if due is not None and due > now:
            marker = closing.sweep_event_id(case, "refresh:" + due.isoformat())
            rule = lambda c: closing.refresh(c, self.rules)  # noqa: E731
        else:
            marker = closing.sweep_event_id(case, (due or now).isoformat())
            rule = lambda c: closing.on_due(c, now, self.rules, source=self._source)  # noqa: E731
        moved = await self.cases.apply(case.case_id, marker, rule)
        if moved.applied and moved.state is not None:
            log.info("offboarding_case_due", case_id=case.case_id, state=moved.state.state.value)

    async def attested(self, case_id: str, attestation: Attestation) -> bool:
        now = self._clock.now()
        rule = lambda c: closing.attest(  # noqa: E731
            c, attestation, now, self.rules, source=self._source
        )
        done = await self.cases.apply(case_id, attestation.event_id, rule)
        if done.applied:
            log.info("offboarding_erasure_attested", case_id=case_id, service=attestation.service)
        return done.applied

    async def export_section(self, case_id: str, export_id: str, section: ExportSection) -> bool:
        now = self._clock.now()
        rule = lambda c: closing.export_section(  # noqa: E731
            c, export_id, section, now, source=self._source, rules=self.rules
        )
        added = await self.cases.apply(case_id, section.event_id, rule)
        if added.applied:
            log.info("offboarding_export_section", case_id=case_id, service=section.service)
        return added.applied

    # --- consumed: legal holds ordered and lifted by the legal system --------------------
    async def hold_ordered(self, event_id: str, customer_id: str, hold: LegalHold) -> bool:
        case_id = await self._held_case(customer_id)
        placed = deterministic_event_id(event_id, "legal-hold-placed")
        return await self._consumed_step(case_id, event_id, placed, closing.place_hold(hold))

    async def hold_lifted(
        self, event_id: str, customer_id: str, hold_id: str, lifted_by: str
    ) -> bool:
        case_id = await self._held_case(customer_id)
        case = await self.cases.get(case_id)
        if case is not None and hold_id not in case.holds:
            # The two facts travel on different topics, so the lift may arrive first: it
            # waits for its order (parked; dead-lettered with this reason after the grace).
            raise MissingPrerequisite(f"legal hold {hold_id} of case {case_id} not ordered yet")
        released = deterministic_event_id(event_id, "legal-hold-released")
        step = closing.release_hold(hold_id, lifted_by)
        return await self._consumed_step(case_id, event_id, released, step)

    async def _held_case(self, customer_id: str) -> str:
        """The case a legal fact is about: the customer's open (or exited) case."""
        marker = await self.markers.get(customer_id)
        if marker is None or marker.case_id is None:
            raise MissingPrerequisite(f"no offboarding case is open for customer {customer_id}")
        return marker.case_id

    async def _consumed_step(self, case_id: str, marker: str, published: str, step: Step) -> bool:
        now = self._clock.now()
        rule = lambda c: decisions.command(  # noqa: E731
            c, case_id, step, published, now, source=self._source, rules=self.rules
        )
        return (await self.cases.apply(case_id, marker, rule)).applied

    # --- commands (HTTP) ----------------------------------------------------------------
    async def request_export(
        self, case_id: str, export_id: str, requested_by: str, event_id: str
    ) -> Case:
        step = closing.request_export(export_id, requested_by, self.rules)
        return await self._command(case_id, event_id, step)

    async def choose_retention(self, case_id: str, offer: RetentionOffer, event_id: str) -> Case:
        return await self._command(case_id, event_id, decisions.choose_retention(offer))

    async def choose_termination(self, case_id: str, plan: TerminationPlan, event_id: str) -> Case:
        return await self._command(case_id, event_id, decisions.choose_termination(plan))

    async def record_round(self, case_id: str, held: NegotiationRound, event_id: str) -> Case:
        return await self._command(case_id, event_id, decisions.record_round(held))

    async def conclude_exit(self, case_id: str, agreement: ExitAgreement, event_id: str) -> Case:
        return await self._command(case_id, event_id, decisions.conclude_exit(agreement))

    async def conclude_retention(
        self, case_id: str, outcome: RetentionOutcome, event_id: str
    ) -> Case:
        case = await self._command(case_id, event_id, decisions.conclude_retention(outcome))
        # Second write; a crash before it heals on retry (the first is then a no-op), or
        # when the customer's next risk finds the marker naming a retained case.
        release: MarkerRule = lambda m: decisions.release(m, case_id)  # noqa: E731
        await self.markers.apply(case.customer_id, event_id, release)
        return case

    async def assess(self, case_id: str, assessment: Assessment, event_id: str) -> Case:
        return await self._command(case_id, event_id, closing.assess(assessment))

    async def plan_communication(
        self, case_id: str, planned: PlannedCommunication, event_id: str
    ) -> Case:
        return await self._command(case_id, event_id, closing.plan_communication(planned))

    async def hold_communication(
        self,
        case_id: str,
        number: int,
        held_by: str,
        outcome: str,
        held_at: datetime | None,
        event_id: str,
    ) -> Case:
        step = closing.hold_communication(number, held_by, outcome, held_at)
        return await self._command(case_id, event_id, step)

    async def record_review(self, case_id: str, review: Review, event_id: str) -> Case:
        return await self._command(case_id, event_id, closing.record_review(review))

    async def log_follow_up(self, case_id: str, task: FollowUpTask, event_id: str) -> Case:
        return await self._command(case_id, event_id, closing.log_follow_up(task))

    async def place_hold(self, case_id: str, hold: LegalHold, event_id: str) -> Case:
        return await self._command(case_id, event_id, closing.place_hold(hold))

    async def release_hold(
        self, case_id: str, hold_id: str, released_by: str, event_id: str
    ) -> Case:
        return await self._command(case_id, event_id, closing.release_hold(hold_id, released_by))

    async def _command(self, case_id: str, event_id: str, step: Step) -> Case:
        """One decision on the case; a repeated ``event_id`` answers with the case as is."""
        now = self._clock.now()
        moved = await self.cases.apply(
            case_id,
            event_id,
            lambda c: decisions.command(
                c, case_id, step, event_id, now, source=self._source, rules=self.rules
            ),
        )
        if moved.state is None:
            raise NotFound(f"case {case_id} not found")
        if moved.applied:
            log.info("offboarding_case_moved", case_id=case_id, state=moved.state.state.value)
        if moved.version is None:  # not stored yet (inside a consumer's batch)
            return await self.case(case_id)
        return replace(moved.state, version=moved.version)  # the version the write gave it

    # --- queries ------------------------------------------------------------------------
    async def case(self, case_id: str) -> Case:
        found = await self.cases.get(case_id)
        if found is None:
            raise NotFound(f"case {case_id} not found")
        return found

    async def cases_of(self, customer_id: str) -> list[Case]:
        return await codec.cases_of(self.cases.backend, customer_id)

    async def queue(self, query: codec.QueueQuery) -> list[Case]:
        return await codec.queue(self.cases.backend, query)
