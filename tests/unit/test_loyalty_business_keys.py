"""Loyalty counts a fact once whatever event id it comes under (issue 6, finding 5): the
same complaint, overdue invoice, SLA breach, survey or purchase lowers or raises the health
score and the points once; a contradicting copy goes to the DLQ as a conflict."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events import EventData
from crm_events.contacts import ContactLogged
from crm_events.feedback import ComplaintRaised, ComplaintSlaBreached, SurveyAnswered
from crm_events.inbound import ContractBreached, PaymentOverdue, PurchaseRecorded
from crm_loyalty.handlers import register_handlers
from tests.unit.guarded import GuardedRuntime, event_of
from tests.unit.loyalty_plugin import Loyalty

pytestmark = pytest.mark.unit
CUSTOMER = {"customer_id": "cus-1"}


@pytest.fixture
async def loyalty() -> tuple[Loyalty, GuardedRuntime]:
    loyalty = Loyalty()
    await loyalty.register()
    runtime = GuardedRuntime(loyalty.clock)
    register_handlers(runtime, loyalty.points, loyalty.health, loyalty.privacy)  # type: ignore[arg-type]
    return loyalty, runtime


SAME_FACT: list[tuple[type[EventData], dict[str, Any]]] = [
    (ComplaintRaised, {}),
    (ComplaintSlaBreached, {"breached_at": "2025-03-05T09:20:00Z"}),  # noticed later
    (SurveyAnswered, {}),
    (PaymentOverdue, {"days_overdue": 45}),  # finance re-sends as the days add up
    (ContractBreached, {}),
    (ContactLogged, {}),
]


@pytest.mark.parametrize(("model", "resent"), SAME_FACT, ids=lambda v: getattr(v, "__name__", ""))
async def test_the_same_fact_under_a_new_event_id_changes_the_score_once(
    loyalty: tuple[Loyalty, GuardedRuntime], model: type[EventData], resent: dict[str, Any]
) -> None:
    service, runtime = loyalty
    first = await runtime.deliver(event_of(model, "evt-1", **CUSTOMER))
    after_first = await service.account()
    second = await runtime.deliver(event_of(model, "evt-2", **CUSTOMER, **resent))
    after_second = await service.account()

    assert (first, second) == ("applied", "duplicate")
    assert after_second.score == after_first.score
    assert after_second.contributions.keys() == after_first.contributions.keys()


async def test_the_same_complaint_twice_lowers_the_health_score_once(
    loyalty: tuple[Loyalty, GuardedRuntime],
) -> None:
    service, runtime = loyalty
    await runtime.deliver(event_of(ComplaintRaised, "evt-1", **CUSTOMER, severity="medium"))
    await runtime.deliver(event_of(ComplaintRaised, "evt-2", **CUSTOMER, severity="medium"))

    account = await service.account()
    assert account.score == 70 - 10  # a medium complaint, counted once
    assert [c.code for c in account.contributions.values()] == ["complaint_raised"]


async def test_the_same_order_under_a_new_id_earns_points_once(
    loyalty: tuple[Loyalty, GuardedRuntime],
) -> None:
    service, runtime = loyalty
    await runtime.deliver(event_of(PurchaseRecorded, "buy-1", **CUSTOMER))
    balance = (await service.account()).balance

    assert await runtime.deliver(event_of(PurchaseRecorded, "buy-2", **CUSTOMER)) == "duplicate"
    assert (await service.account()).balance == balance > 0


async def test_a_contradicting_copy_of_an_invoice_is_a_conflict_and_changes_nothing(
    loyalty: tuple[Loyalty, GuardedRuntime],
) -> None:
    service, runtime = loyalty
    await runtime.deliver(event_of(PaymentOverdue, "evt-1", **CUSTOMER))
    before = await service.account()

    outcome = await runtime.deliver(event_of(PaymentOverdue, "evt-2", **CUSTOMER, amount_minor=1))

    assert outcome.startswith("dlq:conflict: ")
    assert "evt-1" in outcome
    assert "evt-2" in outcome
    assert (await service.account()).score == before.score
