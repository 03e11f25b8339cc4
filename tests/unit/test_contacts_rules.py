"""Contacts' pure rules: classification, segments, follow-up cadence, and who takes over."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from crm_contacts import rules
from crm_contacts.domain import FORMER, ClassChange, Customer, Purchase
from crm_contacts.rules import Rules
from crm_runtime.errors import DomainError

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RULES = Rules()


def customer(**changes: object) -> Customer:
    base = Customer("cus-1", "person", "Example", "emp-1", NOW - timedelta(days=400))
    return replace(base, **changes)  # type: ignore[arg-type]


def bought(*days_ago: int, **changes: object) -> Customer:
    purchases = {f"ord-{d}": Purchase(NOW - timedelta(days=d), 1000) for d in days_ago}
    last = NOW - timedelta(days=min(days_ago))
    return customer(
        purchases=purchases, purchase_count=len(days_ago), last_purchase_at=last, **changes
    )


def test_a_registered_customer_without_purchase_stays_potential() -> None:
    assert rules.classify(customer(), NOW, RULES) == ("potential", "unchanged")


def test_the_first_purchase_makes_a_potential_customer_new() -> None:
    assert rules.classify(bought(1), NOW, RULES) == ("new", "new: first purchase")


def test_k_purchases_within_the_window_make_a_customer_loyal() -> None:
    target, rule = rules.classify(bought(1, 100, 300, classification="new"), NOW, RULES)
    assert (target, rule) == ("loyal", "loyal: 3+ purchases within 365 days")


def test_purchases_spread_wider_than_the_window_do_not_make_loyal() -> None:
    assert rules.classify(bought(1, 100, 500, classification="new"), NOW, RULES)[0] == "new"


def test_a_fully_returned_order_does_not_count_towards_loyalty() -> None:
    found = bought(1, 100, 300, classification="new")
    found.purchases["ord-1"] = Purchase(NOW - timedelta(days=1), 1000, returned_minor=1000)
    assert rules.classify(found, NOW, RULES)[0] == "new"


def test_a_high_tier_makes_a_buying_customer_loyal() -> None:
    assert rules.classify(bought(1, classification="new", tier="gold"), NOW, RULES) == (
        "loyal",
        "loyal: tier gold",
    )


def test_loyalty_is_not_lost_by_counting_down_only_by_inactivity() -> None:
    assert rules.classify(bought(100, classification="loyal"), NOW, RULES) == (
        "loyal",
        "unchanged",
    )


def test_no_purchase_and_no_contact_for_m_days_churns() -> None:
    target, rule = rules.classify(bought(181, classification="loyal"), NOW, RULES)
    assert (target, rule) == ("churned", "inactive: no purchase or contact for 180 days")


def test_a_recent_contact_keeps_the_customer_from_churning() -> None:
    found = bought(181, classification="new", last_contact_at=NOW - timedelta(days=10))
    assert rules.classify(found, NOW, RULES)[0] == "new"
    assert rules.inactivity_due(found, RULES) == NOW - timedelta(days=10) + RULES.churn_after


def test_a_churned_customer_who_buys_again_is_won_back() -> None:
    history = [ClassChange(NOW - timedelta(days=5), "new", "churned", "inactive")]
    found = bought(1, classification="churned", history=history)
    assert rules.classify(found, NOW, RULES) == ("new", "win-back, new: first purchase")


def test_a_churned_customer_without_a_new_purchase_stays_churned() -> None:
    history = [ClassChange(NOW - timedelta(days=5), "new", "churned", "inactive")]
    found = bought(200, classification="churned", history=history)
    assert rules.classify(found, NOW, RULES) == ("churned", "unchanged")


def test_the_end_of_the_relationship_churns_whatever_the_purchases() -> None:
    found = bought(1, 2, 3, classification="loyal", lifecycle=FORMER)
    assert rules.classify(found, NOW, RULES) == ("churned", "relationship-ended")


def test_segments_name_size_frequency_recency_and_tier() -> None:
    found = bought(1, 10, 20, kind="organisation", tier="silver")
    assert rules.segments(found, NOW, RULES) == [
        "size:organisation",
        "frequency:regular",
        "recency:recent",
        "tier:silver",
    ]
    assert rules.segments(customer(), NOW, RULES)[1:] == ["frequency:none", "recency:never"]


def test_cadence_by_class_tier_override_and_one_win_back() -> None:
    assert rules.cadence(customer(), RULES) is None  # potential: no regular visit
    assert rules.cadence(customer(classification="new"), RULES) == timedelta(days=14)
    assert rules.cadence(customer(classification="loyal"), RULES) == timedelta(days=30)
    by_tier = Rules(tier_cadence={"gold": timedelta(days=21)})
    assert rules.cadence(customer(classification="loyal", tier="gold"), by_tier) == timedelta(
        days=21
    )
    assert rules.cadence(customer(classification="churned"), RULES) == timedelta(days=7)
    once = customer(classification="churned", win_back_scheduled=True)
    assert rules.cadence(once, RULES) is None


def test_the_named_successor_takes_over() -> None:
    found = customer(team={"emp-2": "deputy"})
    assert rules.choose_owner(found, "emp-1", "emp-9", set(), RULES) == ("emp-9", "successor")


def test_a_successor_who_is_the_leaver_or_gone_is_passed_over_for_the_team_by_role() -> None:
    found = customer(team={"emp-3": "sales", "emp-2": "deputy", "emp-4": "manager"})
    assert rules.choose_owner(found, "emp-1", "emp-1", set(), RULES) == ("emp-2", "team deputy")
    assert rules.choose_owner(found, "emp-1", "emp-9", {"emp-9", "emp-2"}, RULES) == (
        "emp-3",
        "team sales",
    )


def test_roles_outside_the_order_come_before_the_manager() -> None:
    found = customer(team={"emp-4": "manager", "emp-5": "support"})
    assert rules.choose_owner(found, "emp-1", None, set(), RULES) == ("emp-5", "team support")
    only_manager = customer(team={"emp-4": "manager"})
    assert rules.choose_owner(only_manager, "emp-1", None, set(), RULES) == (
        "emp-4",
        "team manager",
    )


def test_without_a_team_the_default_pool_takes_over_deterministically() -> None:
    pool = Rules(default_pool=("pool-a", "pool-b"))
    first = rules.choose_owner(customer(), "emp-1", None, set(), pool)
    assert first[1] == "default pool"
    assert first[0] in ("pool-a", "pool-b")
    assert rules.choose_owner(customer(), "emp-1", None, set(), pool) == first


def test_with_everyone_gone_no_orphan_is_made_silently() -> None:
    with pytest.raises(DomainError, match="no one is left"):
        rules.choose_owner(customer(), "emp-1", None, {"account-pool"}, RULES)
