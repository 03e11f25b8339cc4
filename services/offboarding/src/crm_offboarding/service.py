"""Use cases of the offboarding service: HTTP commands and consumed events meet here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime

from crm_events import CloudEvent, EventData, deterministic_event_id
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    NegotiationRoundHeld,
    OffboardingCaseOpened,
    RetentionOfferMade,
)
from crm_offboarding.domain import (
    Case,
    ExitAgreement,
    NegotiationRound,
    OpenCaseMarker,
    RetentionOffer,
    RetentionOutcome,
    Risk,
    TerminationPlan,
    case_id_for,
)
from crm_offboarding.lifecycle import MARKER_STATES, accepts_risks
from crm_offboarding.ports import OffboardingRepository
from crm_runtime.clock import Clock
from crm_runtime.errors import Conflict, NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.logging import get_logger

# Re-reads before giving up when concurrent writers keep moving a case or marker.
MAX_ATTEMPTS = 5
Decision = Callable[[Case, datetime], tuple[Case, EventData | None]]
log = get_logger(__name__)


class OffboardingService:
    def __init__(
        self,
        repository: OffboardingRepository,
        clock: Clock,
        *,
        source: str,
        on_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._source = source
        self._on_outbox = on_outbox

    def event_id(self, action: str, case_id: str, idempotency_key: str | None) -> str:
        return command_event_id(self._source, action, case_id, idempotency_key)

    # --- consumed: crm.loyalty.risk-detected ----------------------------------------------
    async def on_risk_detected(self, data: RiskDetected, event: CloudEvent) -> bool:
        """Open a case for the customer, or add the risk to the case already open."""
        if await self._repo.case_with_risk(data.customer_id, data.risk_id) is not None:
            return False
        for _ in range(MAX_ATTEMPTS):
            outcome = await self._intake(data, event)
            if outcome is not None:
                return outcome
        # Not a DomainError: concurrent writers settle, so the runtime retries the event.
        raise RuntimeError("the customer's open-case marker kept changing concurrently")

    async def _intake(self, data: RiskDetected, event: CloudEvent) -> bool | None:
        """One attempt: True/False when done (applied/duplicate), None to look again."""
        marker = await self._repo.get_marker(data.customer_id)
        if marker is None:
            marker = OpenCaseMarker(data.customer_id, case_id_for(event.id), event)
            if not await self._repo.claim_marker(marker):
                return None  # someone else claimed it meanwhile
        case = await self._repo.get_case(marker.case_id)
        if case is None:
            # The marker was claimed but its case never written (crash): heal from the seed.
            opened = await self._open_case(marker.opening_event)
            return opened if marker.case_id == case_id_for(event.id) else None
        if not accepts_risks(case.state):
            # Stale marker (crash between concluding and releasing): release, then retry.
            await self._repo.release_marker(case.customer_id, case.case_id)
            return None
        risk = Risk.from_event(data, event)
        if await self._repo.add_risk(case.case_id, risk, MARKER_STATES, self._clock.now()):
            log.info("offboarding_risk_added", case_id=case.case_id, risk_id=data.risk_id)
            return True
        holder = await self._repo.case_with_risk(data.customer_id, data.risk_id)
        return False if holder is not None else None

    async def _open_case(self, risk_event: CloudEvent) -> bool:
        data = RiskDetected.model_validate(risk_event.data)
        now = self._clock.now()
        opened_id = deterministic_event_id(risk_event.id, "offboarding-case-opened")
        case = Case.open(data, risk_event, opened_event_id=opened_id, now=now)
        opened = OffboardingCaseOpened(
            case_id=case.case_id,
            customer_id=case.customer_id,
            risk_id=data.risk_id,
            category=data.category,
            reasons=data.reasons,
        ).to_event(source=self._source, event_id=opened_id, time=now, cause=risk_event)
        created = await self._repo.create_case(case, [opened])
        if created:
            self._on_outbox()
            log.info("offboarding_case_opened", case_id=case.case_id, risk_id=data.risk_id)
        return created

    # --- commands (HTTP) ----------------------------------------------------------------
    async def choose_retention(self, case_id: str, offer: RetentionOffer, event_id: str) -> Case:
        def decide(case: Case, now: datetime) -> tuple[Case, EventData | None]:
            changed = case.choose_retention(offer, now)
            return changed, RetentionOfferMade(
                case_id=case.case_id, customer_id=case.customer_id, **asdict(offer)
            )

        return await self._command(case_id, event_id, decide)

    async def choose_termination(self, case_id: str, plan: TerminationPlan, event_id: str) -> Case:
        # No contract event exists for this decision yet; the case records it.
        return await self._command(
            case_id, event_id, lambda case, now: (case.choose_termination(plan, now), None)
        )

    async def record_round(self, case_id: str, held: NegotiationRound, event_id: str) -> Case:
        def decide(case: Case, now: datetime) -> tuple[Case, EventData | None]:
            changed, recorded = case.record_round(held, now)
            return changed, NegotiationRoundHeld(
                case_id=case.case_id,
                customer_id=case.customer_id,
                round=recorded.number,
                channel=recorded.channel,
                participants=recorded.participants,
                outcome=recorded.outcome,
                notes=recorded.notes,
                held_at=recorded.held_at,
            )

        return await self._command(case_id, event_id, decide)

    async def conclude_exit(self, case_id: str, agreement: ExitAgreement, event_id: str) -> Case:
        def decide(case: Case, now: datetime) -> tuple[Case, EventData | None]:
            return case.conclude_exit(agreement, now), ExitAgreed(
                case_id=case.case_id, customer_id=case.customer_id, **asdict(agreement)
            )

        return await self._command(case_id, event_id, decide)

    async def conclude_retention(
        self, case_id: str, outcome: RetentionOutcome, event_id: str
    ) -> Case:
        def decide(case: Case, now: datetime) -> tuple[Case, EventData | None]:
            return case.conclude_retention(outcome, now), CustomerRetained(
                case_id=case.case_id, customer_id=case.customer_id, **asdict(outcome)
            )

        case = await self._command(case_id, event_id, decide)
        # Second write; a crash before it heals on retry or when the next risk finds the
        # marker naming a retained case.
        await self._repo.release_marker(case.customer_id, case.case_id)
        return case

    async def _command(self, case_id: str, event_id: str, decide: Decision) -> Case:
        """Read, decide, write with a version guard; a repeated ``event_id`` is a no-op."""
        for _ in range(MAX_ATTEMPTS):
            case = await self.case(case_id)
            if await self._repo.was_applied(case_id, event_id):
                # Re-read: the original may have landed after ``case`` was read.
                return await self.case(case_id)
            now = self._clock.now()
            changed, data = decide(case, now)
            events = [self._derived(case, data, event_id, now)] if data is not None else []
            last = events[0].id if events else case.last_event_id
            changed = replace(changed, updated_at=now, last_event_id=last)
            if await self._repo.save(changed, case.version, event_id, events):
                if events:
                    self._on_outbox()
                log.info("offboarding_case_moved", case_id=case_id, state=changed.state.value)
                return await self.case(case_id)
        raise Conflict(f"case {case_id} kept changing concurrently; retry the request")

    def _derived(self, case: Case, data: EventData, event_id: str, now: datetime) -> CloudEvent:
        """Same journey as the risk that opened the case; caused by the case's last event."""
        return data.to_event(
            source=self._source,
            event_id=event_id,
            time=now,
            correlation_id=case.correlation_id,
            causation_id=case.last_event_id,
        )

    # --- queries ------------------------------------------------------------------------
    async def case(self, case_id: str) -> Case:
        found = await self._repo.get_case(case_id)
        if found is None:
            raise NotFound(f"case {case_id} not found")
        return found

    async def cases_of(self, customer_id: str) -> list[Case]:
        return await self._repo.cases_of(customer_id)
