"""Use cases of the health side: signals from consumed facts, the account's timers, risk.

Each consumed fact becomes one contribution on the account (keyed by its event id) and
whatever the earning rules award for it, in one ``store.apply``, together with
HealthScoreChanged / RiskDetected / PointsAwarded when they follow from it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged
from crm_events.feedback import (
    ComplaintRaised,
    ComplaintResolved,
    ComplaintSlaBreached,
    SurveyAnswered,
)
from crm_events.inbound import ContractBreached, PaymentOverdue, ReferralRecorded
from crm_events.offboarding import OffboardingCaseClosed
from crm_loyalty import decisions, learning, signals, timers, translate
from crm_loyalty.budget import Budgets
from crm_loyalty.customer_health import Signal
from crm_loyalty.domain import Account
from crm_loyalty.earning import Fact
from crm_loyalty.learning import LearningRules
from crm_loyalty.programme import RuleBooks
from crm_loyalty.rules import CustomerHealthRules, Rules
from crm_loyalty.weights import Weights
from crm_runtime.clock import Clock
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore

log = get_logger(__name__)


class CustomerHealthService:
    def __init__(
        self,
        accounts: AggregateStore[Account],
        clock: Clock,
        *,
        rules: Rules,
        source: str,
        books: RuleBooks,
        budgets: Budgets,
        weights: Weights,
        learning_rules: LearningRules | None = None,
    ) -> None:
        self.accounts = accounts
        self.learning_rules = learning_rules or LearningRules()
        self._clock = clock
        self._rules = rules
        self._source = source
        self._books = books
        self._budgets = budgets
        self.weights = weights

    # --- consumed events -------------------------------------------------------------
    async def on_case_closed(self, data: OffboardingCaseClosed, event: CloudEvent) -> bool:
        """Lessons learned: a preventable loss strengthens the signals that came late."""
        review = translate.review(data)
        now = self._clock.now()
        learned = await learning.apply_review(
            self.weights, review, event.id, self.learning_rules, now
        )
        if learned:
            log.info("health_weights_learned", case_id=data.case_id)
        return learned

    async def on_contact_logged(self, data: ContactLogged, event: CloudEvent) -> bool:
        signal = signals.contact_logged(data, event, await self._weighted())
        return await self._apply(event, signal, translate.contact_fact(data, event))

    async def on_complaint_raised(self, data: ComplaintRaised, event: CloudEvent) -> bool:
        return await self._apply(
            event, signals.complaint_raised(data, event, await self._weighted())
        )

    async def on_complaint_resolved(self, data: ComplaintResolved, event: CloudEvent) -> bool:
        return await self._apply(event, None, translate.resolution_fact(data, event))

    async def on_sla_breached(self, data: ComplaintSlaBreached, event: CloudEvent) -> bool:
        return await self._apply(
            event, signals.complaint_sla_breached(data, event, await self._weighted())
        )

    async def on_survey_answered(self, data: SurveyAnswered, event: CloudEvent) -> bool:
        signal = signals.survey_answered(data, event, await self._weighted())
        return await self._apply(event, signal, translate.survey_fact(data, event))

    async def on_referral_recorded(self, data: ReferralRecorded, event: CloudEvent) -> bool:
        """The referrer earns by the rules; no health contribution (a referral is not a
        health signal in the current weights)."""
        return await self._apply(event, None, translate.referral_fact(data, event))

    async def on_payment_overdue(self, data: PaymentOverdue, event: CloudEvent) -> bool:
        return await self._apply(
            event, signals.payment_overdue(data, event, await self._weighted())
        )

    async def on_contract_breached(self, data: ContractBreached, event: CloudEvent) -> bool:
        return await self._apply(
            event, signals.contract_breached(data, event, await self._weighted())
        )

    # --- the account's timers (runtime.sweep_aggregates) -------------------------------
    async def on_due(self, account: Account, now: datetime) -> None:
        await self.on_inactivity_due(account.customer_id, now)

    async def on_inactivity_due(self, customer_id: str, now: datetime) -> bool:
        """Everything due on the account: inactivity, expiry warnings, expiries."""
        account = await self.accounts.get(customer_id)
        due = account.next_due_at if account is not None else None
        if due is None or due > now:
            return False
        rules, source = await self._current_rules(), self._source
        book = await self._books.current()
        decide: decisions.Decide = lambda s: timers.due(  # noqa: E731
            s, due, rules=rules, book=book, now=now, source=source
        )
        applied = await self.accounts.apply(customer_id, timers.due_id(customer_id, due), decide)
        if applied.applied:
            log.info("account_timers_fired", customer_id=customer_id)
        return applied.applied

    async def _weighted(self) -> CustomerHealthRules:
        """The health rules with the contribution weights in force."""
        return await self.weights.rules(self._rules.health)

    async def _current_rules(self) -> Rules:
        return replace(self._rules, health=await self._weighted())

    async def _apply(
        self, event: CloudEvent, signal: Signal | None, fact: Fact | None = None
    ) -> bool:
        earning = None
        if fact is not None:
            book = await self._books.current()
            budget = await self._budgets.grant(event.subject, fact, book)
            earning = decisions.Earning(fact, book, budget)
        now, rules, source = self._clock.now(), await self._current_rules(), self._source
        decide: decisions.Decide = lambda s: decisions.health_signal(  # noqa: E731
            s, signal, event, rules=rules, now=now, source=source, earning=earning
        )
        return (await self.accounts.apply(event.subject, event.id, decide)).applied
