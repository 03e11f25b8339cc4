"""Churn outcomes feed the risk model (issue 9): a preventable closed case strengthens the
risk signals its review names, within bounds, as a new weights version that explains
itself; the next customer showing that signal falls further."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_events.feedback import ComplaintSlaBreached
from crm_events.offboarding import OffboardingCaseClosed
from crm_loyalty.learning import LearningRules, Review, learn, weight_named
from crm_loyalty.rules import CustomerHealthRules
from crm_loyalty.weights import MAX_WEIGHT, from_rules
from tests.unit.loyalty_plugin import NOW, Loyalty, golden

pytestmark = pytest.mark.unit
SLA = "crm.feedback.complaint-sla-breached.v1"


def closed(case_id: str = "obc-1", **changes: object) -> OffboardingCaseClosed:
    review = {
        "case_id": case_id,
        "outcome": "exited",
        "preventable": True,
        "late_signals": [SLA, "payment overdue", "the weather"],
        "root_causes": ["customer_performance"],
    }
    return golden(OffboardingCaseClosed, **{**review, **changes})


async def close(loyalty: Loyalty, data: OffboardingCaseClosed, event_id: str) -> bool:
    return await loyalty.health.on_case_closed(data, loyalty.event(data, event_id))


@pytest.mark.parametrize(
    ("name", "weight"),
    [
        (SLA, "sla_breach"),
        ("complaint-sla-breached", "sla_breach"),
        ("sla_breach", "sla_breach"),
        ("Payment Overdue", "payment_overdue"),
        ("crm.inbound.contract-breached.v1", "contract_breached"),
        ("crm.feedback.complaint-raised.v1", "complaint"),
        ("inactivity", "inactivity"),
        ("crm.contacts.contact-logged.v1", None),  # a gain, not a risk signal
        ("the weather", None),
    ],
)
def test_a_review_names_a_signal_by_weight_event_type_or_plain_words(
    name: str, weight: str | None
) -> None:
    assert weight_named(name) == weight


async def test_a_preventable_review_strengthens_the_late_signals_and_explains_the_version() -> None:
    loyalty = Loyalty()
    before = await loyalty.weights.current()
    assert await close(loyalty, closed(), "closed-1")

    after = await loyalty.weights.current()
    assert after.version == before.version + 1
    assert (after.sla_breach, after.payment_overdue) == (
        before.sla_breach - 2,
        before.payment_overdue - 2,
    )
    assert after.contract_breached == before.contract_breached  # not named: unchanged
    assert after.created_by == "review:obc-1"
    assert after.learning is not None
    assert after.learning.case_id == "obc-1"
    assert after.learning.ignored == ["the weather"]
    assert sorted(a.weight for a in after.learning.adjustments) == ["payment_overdue", "sla_breach"]
    assert await loyalty.weights.version(after.version) == after  # kept as a version

    # The redelivered event changes nothing.
    assert not await close(loyalty, closed(), "closed-1")
    assert (await loyalty.weights.current()).version == after.version


async def test_a_review_that_teaches_nothing_makes_no_version() -> None:
    loyalty = Loyalty()
    await close(loyalty, closed("obc-2", preventable=False), "closed-2")
    await close(loyalty, closed("obc-3", late_signals=["the weather"]), "closed-3")
    await close(loyalty, closed("obc-4", preventable=None, late_signals=None), "closed-4")
    assert (await loyalty.weights.current()).version == 1


async def test_reviews_add_up_to_the_bound_and_then_stop() -> None:
    loyalty = Loyalty()
    configured = (await loyalty.weights.current()).sla_breach
    for n in range(10):
        await close(loyalty, closed(f"obc-{n}", late_signals=[SLA]), f"closed-{n}")
    current = await loyalty.weights.current()
    assert current.sla_breach == configured - LearningRules().max_shift
    assert current.version == 1 + LearningRules().max_shift // LearningRules().step


async def test_the_next_breach_costs_more_after_the_lesson() -> None:
    loyalty = Loyalty()
    await loyalty.register()
    await close(loyalty, closed(late_signals=[SLA]), "closed-1")
    learned = await loyalty.weights.current()
    assert learned.version == 2
    account = await loyalty.account()
    score = account.score
    loyalty.clock.advance(timedelta(minutes=1))
    breach = golden(ComplaintSlaBreached, customer_id="cus-1")
    await loyalty.health.on_sla_breached(breach, loyalty.event(breach, "breach-1"))
    assert (await loyalty.account()).score == score + learned.sla_breach


@given(
    step=st.integers(0, MAX_WEIGHT),
    max_shift=st.integers(0, 2 * MAX_WEIGHT),
    reviews=st.integers(1, 40),
)
def test_no_sequence_of_reviews_moves_a_weight_past_its_bounds(
    step: int, max_shift: int, reviews: int
) -> None:
    configured = from_rules(CustomerHealthRules(), NOW)
    rules = LearningRules(step=step, max_shift=max_shift)
    current = configured
    for n in range(reviews):
        review = Review(f"c-{n}", "exited", True, (SLA, "complaint"), NOW)
        current = learn(current, configured, review, rules, NOW) or current
    floor = max(-MAX_WEIGHT, configured.sla_breach - max_shift)
    assert floor <= current.sla_breach <= configured.sla_breach
    for severity, weight in current.complaint.items():
        assert max(-MAX_WEIGHT, configured.complaint[severity] - max_shift) <= weight <= 0
