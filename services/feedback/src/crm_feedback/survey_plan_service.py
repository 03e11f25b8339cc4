"""Survey requests: scheduled when a complaint is resolved, NPS by cadence, sent and expired
by the sweeper, closed by the answer — each one decision on the customer's survey plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from crm_events import CloudEvent, deterministic_event_id
from crm_events.feedback import ComplaintResolved
from crm_feedback import survey_plan
from crm_feedback.answers import SurveyAnswer
from crm_feedback.domain import to_millis
from crm_feedback.survey_plan import SurveyPlan, SurveyRules
from crm_runtime.clock import Clock
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore, Decision
from crm_runtime.timestamps import stamp

log = get_logger(__name__)
PlanRule = Callable[[SurveyPlan | None], Decision[SurveyPlan]]


class SurveyPlanService:
    def __init__(self, plans: AggregateStore[SurveyPlan], clock: Clock, rules: SurveyRules) -> None:
        self.plans = plans
        self._clock = clock
        self._rules = rules

    async def _apply(self, customer_id: str, event_id: str, rule: PlanRule) -> bool:
        return (await self.plans.apply(customer_id, event_id, rule)).applied

    # --- facts ------------------------------------------------------------------------------
    async def complaint_resolved(self, data: ComplaintResolved, event: CloudEvent) -> bool:
        """Schedule the CSAT request of this resolution (ours, or another system's)."""
        rules = self._rules
        rule: PlanRule = lambda s: survey_plan.complaint_resolved(  # noqa: E731
            s,
            customer_id=data.customer_id,
            complaint_id=data.complaint_id,
            reopen_count=data.reopen_count or 0,
            resolved_at=to_millis(data.resolved_at),
            rules=rules,
            correlation_id=event.correlationid,
            cause_id=event.id,
        )
        return await self._apply(data.customer_id, event.id, rule)

    async def registered(self, customer_id: str, at: datetime, event_id: str) -> bool:
        rules = self._rules
        rule: PlanRule = lambda s: survey_plan.registered(s, customer_id, to_millis(at), rules)  # noqa: E731
        return await self._apply(customer_id, event_id, rule)

    async def exited(self, customer_id: str, at: datetime, event_id: str) -> bool:
        rules = self._rules
        rule: PlanRule = lambda s: survey_plan.exited(s, customer_id, to_millis(at), rules)  # noqa: E731
        if applied := await self._apply(customer_id, event_id, rule):
            log.info("surveys_stopped_at_exit", customer_id=customer_id)
        return applied

    async def answered(self, fact: SurveyAnswer) -> bool:
        """Match the answer to its request (if we sent one) and note an NPS answer."""
        rules = self._rules
        rule: PlanRule = lambda s: survey_plan.answered(  # noqa: E731
            s,
            customer_id=fact.customer_id,
            survey_id=fact.survey_id,
            nps_given=fact.nps is not None,
            answered_at=to_millis(fact.answered_at),
            rules=rules,
        )
        return await self._apply(fact.customer_id, fact.event_id, rule)

    # --- timer ------------------------------------------------------------------------------
    async def on_due(self, plan: SurveyPlan, now: datetime) -> None:
        now, rules = to_millis(now), self._rules
        moment = plan.next_due_at
        marker = deterministic_event_id(
            rules.source,
            "survey-plan",
            plan.customer_id,
            "sweep",
            stamp(moment) if moment else "none",
        )
        if await self._apply(plan.customer_id, marker, lambda s: survey_plan.due(s, now, rules)):
            log.info("survey_plan_swept", customer_id=plan.customer_id)

    # --- queries ----------------------------------------------------------------------------
    async def plan(self, customer_id: str) -> SurveyPlan | None:
        return await self.plans.get(customer_id)
