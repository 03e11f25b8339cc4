"""Use cases of the health side: signals from consumed facts, the inactivity timer, risk.

Each consumed fact becomes one contribution on the account (keyed by its event id) in one
guarded write, together with HealthScoreChanged / RiskDetected when they follow from it.
"""

from __future__ import annotations

from datetime import datetime

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged
from crm_events.feedback import ComplaintRaised, ComplaintSlaBreached, SurveyAnswered
from crm_events.inbound import ContractBreached, PaymentOverdue
from crm_loyalty import signals
from crm_loyalty.domain import Account, Derived
from crm_loyalty.health import Signal, apply_signal
from crm_loyalty.ports import LoyaltyRepository
from crm_loyalty.rules import HealthRules
from crm_loyalty.writer import AccountWriter
from crm_runtime.clock import Clock
from crm_runtime.errors import MissingPrerequisite, NotFound
from crm_runtime.logging import get_logger

log = get_logger(__name__)


class HealthService:
    def __init__(
        self,
        repository: LoyaltyRepository,
        writer: AccountWriter,
        clock: Clock,
        *,
        rules: HealthRules,
    ) -> None:
        self._repo = repository
        self._writer = writer
        self._clock = clock
        self._rules = rules

    # --- consumed events -------------------------------------------------------------
    async def on_contact_logged(self, data: ContactLogged, event: CloudEvent) -> bool:
        return await self._apply(event, signals.contact_logged(data, event, self._rules))

    async def on_complaint_raised(self, data: ComplaintRaised, event: CloudEvent) -> bool:
        return await self._apply(event, signals.complaint_raised(data, event, self._rules))

    async def on_sla_breached(self, data: ComplaintSlaBreached, event: CloudEvent) -> bool:
        return await self._apply(event, signals.complaint_sla_breached(data, event, self._rules))

    async def on_survey_answered(self, data: SurveyAnswered, event: CloudEvent) -> bool:
        return await self._apply(event, signals.survey_answered(data, event, self._rules))

    async def on_payment_overdue(self, data: PaymentOverdue, event: CloudEvent) -> bool:
        return await self._apply(event, signals.payment_overdue(data, event, self._rules))

    async def on_contract_breached(self, data: ContractBreached, event: CloudEvent) -> bool:
        return await self._apply(event, signals.contract_breached(data, event, self._rules))

    # --- the inactivity timer (runtime.sweep) -------------------------------------------
    async def on_inactivity_due(self, customer_id: str, now: datetime) -> bool:
        """One inactivity contribution per period that passed without contact or purchase."""
        account = await self._repo.get_account(customer_id)
        due = account.next_due_at if account is not None else None
        if due is None or due > now:
            return False
        cause_id = f"inactivity:{customer_id}:{due.isoformat()}"

        def change(account: Account) -> list[Derived] | None:
            if account.next_due_at != due:
                return None  # activity (or another sweeper) moved the timer meanwhile
            if not account.is_open:
                account.next_due_at = None
                return []
            account.next_due_at = due + self._rules.inactivity_period
            signal = signals.inactivity(due, self._rules)
            return apply_signal(account, signal, self._rules, now, cause_id)

        applied = await self._writer.apply(
            customer_id,
            cause_id,
            change,
            cause=None,
            missing=lambda: NotFound(f"loyalty account {customer_id} not found"),
        )
        if applied:
            log.info("inactivity_recorded", customer_id=customer_id)
        return applied

    async def _apply(self, event: CloudEvent, signal: Signal) -> bool:
        now = self._clock.now()
        customer_id = event.subject

        def change(account: Account) -> list[Derived]:
            return apply_signal(account, signal, self._rules, now, event.id)

        return await self._writer.apply(
            customer_id,
            event.id,
            change,
            cause=event,
            missing=lambda: MissingPrerequisite(
                f"{signal.code.replace('_', ' ')} for unknown account {customer_id}"
            ),
        )
