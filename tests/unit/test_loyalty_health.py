"""Customer health and risk with the in-memory repository: every contribution explained,
RiskDetected once per episode, hard signals, the inactivity timer — in milliseconds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from crm_events.contacts import ContactLogged
from crm_events.feedback import ComplaintRaised, ComplaintSlaBreached, SurveyAnswered
from crm_events.inbound import ContractBreached, PaymentOverdue
from crm_events.loyalty import HealthScoreChanged, RiskDetected
from crm_loyalty.rules import CustomerHealthRules, Rules
from crm_runtime.errors import MissingPrerequisite
from tests.unit.loyalty_plugin import NOW, Loyalty, golden

pytestmark = pytest.mark.unit


@pytest.fixture
async def loyalty() -> Loyalty:
    loyalty = Loyalty()
    await loyalty.register()
    return loyalty


def with_health(**changes: Any) -> Loyalty:
    return Loyalty(rules=Rules(health=replace(CustomerHealthRules(), **changes)))


async def contact(loyalty: Loyalty, n: int = 1) -> bool:
    data = golden(ContactLogged, occurred_at=loyalty.clock.now().isoformat())
    return await loyalty.health.on_contact_logged(data, loyalty.event(data, f"contact-{n}"))


async def complaint(loyalty: Loyalty, n: int, severity: str = "critical") -> bool:
    data = golden(
        ComplaintRaised,
        complaint_id=f"cmp-{n}",
        severity=severity,
        raised_at=loyalty.clock.now().isoformat(),
    )
    return await loyalty.health.on_complaint_raised(data, loyalty.event(data, f"complaint-{n}"))


async def overdue(loyalty: Loyalty, n: int = 1) -> bool:
    data = golden(PaymentOverdue, invoice_id=f"inv-{n}")
    return await loyalty.health.on_payment_overdue(data, loyalty.event(data, f"overdue-{n}"))


async def survey(loyalty: Loyalty, **scores: Any) -> bool:
    answered_at = loyalty.clock.now().isoformat()
    data = golden(
        SurveyAnswered, **{"csat": None, "nps": None, "answered_at": answered_at, **scores}
    )
    return await loyalty.health.on_survey_answered(data, loyalty.event(data, "survey-1"))


async def sla_breach(loyalty: Loyalty) -> bool:
    data = golden(ComplaintSlaBreached, breached_at=NOW.isoformat())
    return await loyalty.health.on_sla_breached(data, loyalty.event(data, "breach-1"))


async def contract_breach(loyalty: Loyalty) -> bool:
    data = golden(ContractBreached, detected_at=NOW.isoformat())
    return await loyalty.health.on_contract_breached(data, loyalty.event(data, "breach-1"))


async def score(loyalty: Loyalty) -> int:
    return (await loyalty.account()).score


# --- score and contributions ---------------------------------------------------------------
async def test_each_fact_is_a_contribution_that_explains_the_score(loyalty: Loyalty) -> None:
    await contact(loyalty)
    await complaint(loyalty, 1, severity="high")

    account = await loyalty.account()
    assert account.score == 70 + 2 - 15
    assert {(c.code, c.delta) for c in account.contributions.values()} == {
        ("contact_logged", 2),
        ("complaint_raised", -15),
    }
    assert account.contributions["complaint-1"].reason == "complaint cmp-1 raised (high severity)"
    changes = loyalty.published(HealthScoreChanged)
    assert [(c["previous_score"], c["score"]) for c in changes] == [(70, 72), (72, 57)]
    assert changes[-1]["contributions"] == {
        "baseline": 70,
        "contact_logged": 2,
        "complaint_raised": -15,
    }


@pytest.mark.parametrize(
    ("scores", "delta"),
    [({"csat": 2}, -15), ({"nps": 6}, -15), ({"csat": 5, "nps": 3}, -15), ({"nps": 10}, 5)],
)
async def test_surveys_move_the_score(loyalty: Loyalty, scores: dict[str, int], delta: int) -> None:
    await survey(loyalty, **scores)
    assert await score(loyalty) == 70 + delta


async def test_a_neutral_survey_is_applied_without_a_contribution(loyalty: Loyalty) -> None:
    assert await survey(loyalty, csat=3, nps=8) is True
    assert (await loyalty.account()).contributions == {}
    assert loyalty.published(HealthScoreChanged) == []


async def test_sla_breach_lowers_the_score_and_score_stays_in_range(loyalty: Loyalty) -> None:
    await sla_breach(loyalty)
    for n in range(5):
        await complaint(loyalty, n)

    assert await score(loyalty) == 0
    assert (
        "resolution deadline missed" in (await loyalty.account()).contributions["breach-1"].reason
    )


# --- risk episodes ---------------------------------------------------------------------------
async def test_risk_is_detected_once_per_episode(loyalty: Loyalty) -> None:
    await complaint(loyalty, 1)  # 50
    await complaint(loyalty, 2)  # 30: below 40
    await complaint(loyalty, 3)  # 10: same episode

    [risk] = loyalty.published(RiskDetected)
    assert risk["score"] == 30
    assert risk["category"] == "market_competition"  # dissatisfaction (see README)
    assert risk["reasons"][0] == "health score 30 below threshold 40"
    assert "complaint cmp-1 raised (critical severity) (-20)" in risk["reasons"]
    assert "hard_signal" not in risk
    assert (await loyalty.account()).risk_episodes == 1


async def test_recovery_needs_the_hysteresis_before_a_new_episode() -> None:
    loyalty = with_health(contact=15)
    await loyalty.register()
    await complaint(loyalty, 1)
    await complaint(loyalty, 2)  # 30: episode 1
    await contact(loyalty, 1)  # 45: above 40 but below 40 + 10 — still the same episode
    await complaint(loyalty, 3)  # 25: no second RiskDetected
    await contact(loyalty, 2)  # 40
    await contact(loyalty, 3)  # 55: recovered, the episode ends
    assert (await loyalty.account()).risk is None
    await complaint(loyalty, 4)  # 35: episode 2

    risks = loyalty.published(RiskDetected)
    assert [r["score"] for r in risks] == [30, 35]
    assert risks[0]["risk_id"] != risks[1]["risk_id"]


async def test_a_hard_signal_raises_risk_at_once_and_holds_the_episode(
    loyalty: Loyalty,
) -> None:
    await overdue(loyalty, 1)  # 55: above the threshold, but a hard signal
    await overdue(loyalty, 2)  # same episode
    for n in range(10):
        await contact(loyalty, n)  # score recovers, the hard signal still holds the episode
    assert (await loyalty.account()).risk is not None

    loyalty.clock.advance(timedelta(days=91))
    await contact(loyalty, 99)
    assert (await loyalty.account()).risk is None
    await overdue(loyalty, 3)

    risks = loyalty.published(RiskDetected)
    assert len(risks) == 2
    assert risks[0]["hard_signal"] == "crm.inbound.payment-overdue.v1"
    assert risks[0]["category"] == "customer_performance"
    assert risks[0]["reasons"][0] == "payment of invoice inv-1 17 days overdue"
    assert risks[0]["score"] == 55


async def test_contract_breach_is_a_hard_signal(loyalty: Loyalty) -> None:
    await contract_breach(loyalty)

    [risk] = loyalty.published(RiskDetected)
    assert risk["hard_signal"] == "crm.inbound.contract-breached.v1"
    assert risk["category"] == "customer_performance"


async def test_a_settled_account_opens_no_risk_episode(loyalty: Loyalty) -> None:
    await loyalty.exit()
    await overdue(loyalty)
    assert loyalty.published(RiskDetected) == []


# --- inactivity --------------------------------------------------------------------------------
async def test_inactivity_adds_one_contribution_per_inactive_period(loyalty: Loyalty) -> None:
    assert await loyalty.health.on_inactivity_due("cus-1", loyalty.clock.now()) is False
    loyalty.clock.advance(timedelta(days=60))
    now = loyalty.clock.now()

    assert await loyalty.health.on_inactivity_due("cus-1", now) is True
    assert await loyalty.health.on_inactivity_due("cus-1", now) is False
    loyalty.clock.advance(timedelta(days=60))
    assert await loyalty.health.on_inactivity_due("cus-1", loyalty.clock.now()) is True

    account = await loyalty.account()
    assert account.score == 50
    assert sorted(account.contributions) == [
        "inactivity-20260430T090000",
        "inactivity-20260629T090000",
    ]
    assert account.next_due_at == NOW + timedelta(days=180)


async def test_activity_restarts_the_inactivity_clock(loyalty: Loyalty) -> None:
    loyalty.clock.advance(timedelta(days=59))
    await contact(loyalty)
    loyalty.clock.advance(timedelta(days=2))

    assert await loyalty.health.on_inactivity_due("cus-1", loyalty.clock.now()) is False
    assert (await loyalty.account()).next_due_at == NOW + timedelta(days=59 + 60)


async def test_a_fact_dated_in_the_future_counts_as_happening_now(loyalty: Loyalty) -> None:
    data = golden(ContactLogged, occurred_at="2100-01-01T00:00:00Z")
    await loyalty.health.on_contact_logged(data, loyalty.event(data, "contact-from-the-future"))

    account = await loyalty.account()
    assert account.last_activity_at == NOW
    assert account.next_due_at == NOW + timedelta(days=60)  # not postponed to 2100
    assert account.contributions["contact-from-the-future"].at == NOW
    loyalty.clock.advance(timedelta(days=366))
    await complaint(loyalty, 1, severity="low")
    assert "contact-from-the-future" not in (await loyalty.account()).contributions


# --- bounds, reordering, idempotency -----------------------------------------------------------
async def test_contributions_are_bounded_without_changing_the_score() -> None:
    loyalty = with_health(max_contributions=10, contact=1)
    await loyalty.register()
    for n in range(15):
        await contact(loyalty, n)

    account = await loyalty.account()
    assert account.score == 85
    assert len(account.contributions) == 11
    assert account.contributions["rollup-contact-logged"].count == 5
    assert account.contributions["rollup-contact-logged"].delta == 5

    loyalty.clock.advance(timedelta(days=366))
    await complaint(loyalty, 1, severity="low")
    account = await loyalty.account()
    assert [c.code for c in account.contributions.values()] == ["complaint_raised"]
    assert account.score == 65  # the year-old contacts no longer count


async def test_health_facts_before_registration_wait() -> None:
    loyalty = Loyalty()
    with pytest.raises(MissingPrerequisite, match="contact logged for unknown account cus-1"):
        await contact(loyalty)


Apply = Callable[[Loyalty], Awaitable[bool]]
HANDLERS: dict[str, Apply] = {
    "contact": lambda it: contact(it),
    "complaint": lambda it: complaint(it, 1),
    "overdue": lambda it: overdue(it),
    "survey": lambda it: survey(it, csat=1),
    "sla breach": sla_breach,
    "contract breach": contract_breach,
}


@pytest.mark.parametrize("name", sorted(HANDLERS))
async def test_every_health_handler_applies_once(loyalty: Loyalty, name: str) -> None:
    first = await HANDLERS[name](loyalty)
    published = list(loyalty.outbox)
    second = await HANDLERS[name](loyalty)

    assert (first, second) == (True, False)
    assert loyalty.outbox == published
    assert len(loyalty.backend.docs("accounts")["cus-1"]["applied"]) == 2  # registration + this
