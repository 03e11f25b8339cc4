"""Goodwill adjustments: a manager's signed grant with a reason, limited per grant,
idempotent by key; a credit is a lot (it expires like any) and a fact for the rules."""

from __future__ import annotations

import pytest

from crm_events.loyalty import PointsAwarded, PointsReversed
from crm_loyalty.goodwill import Adjustment
from crm_runtime.errors import Conflict, DomainError
from tests.unit.loyalty_plugin import Loyalty
from tests.unit.test_loyalty_rules import PURCHASE, rule

pytestmark = pytest.mark.unit
BY = "manager:abcd1234"


@pytest.fixture
async def loyalty() -> Loyalty:
    loyalty = Loyalty()
    await loyalty.register()
    return loyalty


async def adjust(loyalty: Loyalty, points: int, key: str = "k-1", reason: str = "late") -> int:
    request_id = loyalty.points.adjustment_id("cus-1", key)
    done = await loyalty.points.adjust("cus-1", Adjustment(points, reason, "cmp-1", BY), request_id)
    return done.balance


async def test_a_credit_is_awarded_once_with_its_reason_and_never_qualifies(
    loyalty: Loyalty,
) -> None:
    assert await adjust(loyalty, 300) == 300
    assert await adjust(loyalty, 300) == 300  # the same key: the same grant

    (entry,) = loyalty.entries.values()
    assert (entry.kind, entry.delta, entry.note) == ("goodwill", 300, "late")
    assert entry.details["granted_by"] == BY
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points, len(account.lots)) == (300, 0, 1)
    assert [a["reason"] for a in loyalty.published(PointsAwarded)] == ["goodwill"]
    with pytest.raises(Conflict, match="different adjustment"):
        await adjust(loyalty, 200)


async def test_a_debit_takes_the_oldest_points_and_never_more_than_available(
    loyalty: Loyalty,
) -> None:
    await loyalty.purchase(10_000)
    assert await adjust(loyalty, -40, key="k-2", reason="double booking") == 60
    with pytest.raises(DomainError, match="60 points available, 100 to withdraw"):
        await adjust(loyalty, -100, key="k-3")

    reversed_ = loyalty.published(PointsReversed)
    assert [(r["points"], r["balance_after"]) for r in reversed_] == [(40, 60)]
    assert loyalty.entries["goodwill-debit:" + loyalty.points.adjustment_id("cus-1", "k-2")]


async def test_the_limit_per_grant_and_a_settled_account_refuse_before_any_write(
    loyalty: Loyalty,
) -> None:
    with pytest.raises(DomainError, match="exceeds the limit of 5000"):
        await adjust(loyalty, 5001)
    await loyalty.exit()
    with pytest.raises(Conflict, match="frozen"):
        await adjust(loyalty, 10, key="k-2")
    assert [e.kind for e in loyalty.entries.values()] == ["settle"]  # nothing else


async def test_a_goodwill_grant_is_a_fact_the_rules_may_reward(loyalty: Loyalty) -> None:
    bonus = rule(
        "goodwill-bonus",
        "goodwill_granted",
        {"kind": "fixed", "points": 50},
        conditions=[{"field": "points", "op": "gte", "value": 100}],
        qualifying=False,
    )
    await loyalty.put_rules({"rules": [PURCHASE, bonus]})
    assert await adjust(loyalty, 100) == 150

    kinds = sorted(e.kind for e in loyalty.entries.values())
    assert kinds == ["earn", "goodwill"]
