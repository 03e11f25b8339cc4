"""Caps per rule and per member and period: what a cap withholds is recorded as capped with
the cap that applied (explainable, never silently dropped); a new period starts afresh."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_events.loyalty import PointsAwarded
from tests.unit.loyalty_plugin import NOW, Loyalty
from tests.unit.test_loyalty_rules import PURCHASE, rule

pytestmark = pytest.mark.unit


@pytest.fixture
async def loyalty() -> Loyalty:
    loyalty = Loyalty()
    await loyalty.register()
    return loyalty


async def test_a_rule_cap_per_month_withholds_and_explains_the_excess(loyalty: Loyalty) -> None:
    contact = rule(
        "contact-points",
        "contact_logged",
        {"kind": "fixed", "points": 30},
        cap={"points": 50, "period": "month"},
    )
    await loyalty.put_rules({"rules": [PURCHASE, contact]})
    for n in (1, 2, 3):
        await loyalty.contact(n)

    points = [loyalty.entries[f"earn:contact-{n}"].points for n in (1, 2, 3)]
    assert points == [30, 20, 0]
    capped = loyalty.entries["earn:contact-3"]
    assert capped.state == "posted"
    assert capped.details["capped"] == 30
    assert capped.details["rules"]["contact-points"]["cap"] == (
        "rule contact-points cap: 50 points per month"
    )
    assert capped.note == "30 points capped (rule contact-points cap: 50 points per month)"
    assert [a.get("capped_points") for a in loyalty.published(PointsAwarded)] == [None, 10]

    loyalty.clock.set(NOW + timedelta(days=31))  # April
    await loyalty.contact(4)
    assert loyalty.entries["earn:contact-4"].points == 30


async def test_the_member_cap_spans_every_rule_and_the_purchase_still_qualifies(
    loyalty: Loyalty,
) -> None:
    await loyalty.put_rules(
        {
            "rules": [PURCHASE, rule("c", "contact_logged", {"kind": "fixed", "points": 40})],
            "member_cap": {"points": 100, "period": "day"},
        }
    )
    await loyalty.purchase(8_000, purchased_at=NOW.isoformat())
    await loyalty.contact(1)

    assert loyalty.entries["earn:buy-ord-1"].points == 80
    contact = loyalty.entries["earn:contact-1"]
    assert (contact.points, contact.details["capped"]) == (20, 20)
    assert contact.details["rules"]["c"]["cap"] == "member cap: 100 points per day"
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points) == (100, 120)
    assert {k: u.points for k, u in account.cap_usage.items()} == {"member__d20260301": 100}


async def test_a_purchase_beyond_every_cap_is_posted_with_zero_points_and_its_reason(
    loyalty: Loyalty,
) -> None:
    await loyalty.put_rules({"rules": [PURCHASE], "member_cap": {"points": 10, "period": "week"}})
    await loyalty.purchase(1_000, order="ord-1", purchased_at=NOW.isoformat())
    await loyalty.purchase(1_000, order="ord-2", purchased_at=NOW.isoformat())

    second = loyalty.entries["earn:buy-ord-2"]
    assert (second.state, second.points, second.details["capped"]) == ("posted", 0, 10)
    assert len(loyalty.published(PointsAwarded)) == 1


async def test_the_programme_budget_is_shared_by_every_member_and_explained(
    loyalty: Loyalty,
) -> None:
    await loyalty.register("cus-2")
    await loyalty.put_rules({"rules": [PURCHASE], "budget": {"points": 150, "period": "month"}})
    await loyalty.purchase(10_000, order="ord-1", purchased_at=NOW.isoformat())
    await loyalty.purchase(10_000, order="ord-1", purchased_at=NOW.isoformat())  # again
    await loyalty.purchase(10_000, order="ord-2", customer_id="cus-2", purchased_at=NOW.isoformat())

    assert loyalty.entries["earn:buy-ord-1"].points == 100
    second = loyalty.entries["earn:buy-ord-2"]
    assert (second.points, second.details["capped"]) == (50, 50)
    assert second.details["rules"]["purchase-points"]["cap"] == (
        "programme budget: 150 points per month"
    )
    budget = await loyalty.budgets.current(await loyalty.books.current(), NOW)
    assert budget is not None
    assert (budget.granted, budget.left, len(budget.reservations)) == (150, 0, 2)
