"""The two risk categories no health score can show (issue 9): a company-strategy change
that deprioritises the customer's segment or product line, and a law or regulation change
for their jurisdiction or segment. Each affected customer gets one ``RiskDetected`` per
episode (the change / regulation id), whatever the health score says."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime

from crm_events import CloudEvent, deterministic_event_id
from crm_events.common import RiskCategory
from crm_events.loyalty import RiskDetected
from crm_loyalty.domain import Account
from crm_runtime.errors import MissingPrerequisite
from crm_runtime.store import Decision


@dataclass(frozen=True)
class ExternalRisk:
    episode: str  # the strategy change or regulation id
    customer_id: str
    category: RiskCategory
    reasons: list[str]
    hard_signal: str  # the event type that carried it


def risk_id(fact: ExternalRisk) -> str:
    return "risk-" + deterministic_event_id(fact.category.value, fact.episode, fact.customer_id)


def raised(
    state: Account | None, fact: ExternalRisk, cause: CloudEvent, now: datetime, *, source: str
) -> Decision[Account]:
    """Once per episode, and only while the relationship is open."""
    if state is None:
        raise MissingPrerequisite(
            f"{fact.category.value} risk for unknown account {fact.customer_id}"
        )
    rid = risk_id(fact)
    if rid in state.external_risks or not state.is_open:
        return Decision()
    account = copy.deepcopy(state)
    account.external_risks = [*account.external_risks, rid]
    detected = RiskDetected(
        customer_id=account.customer_id,
        risk_id=rid,
        category=fact.category,
        reasons=fact.reasons,
        score=account.score,
        hard_signal=fact.hard_signal,
    ).to_event(
        source=source,
        event_id=deterministic_event_id(cause.id, "risk-detected"),
        time=now,
        cause=cause,
    )
    return Decision(account, publish=[detected], due=account.next_due_at)
