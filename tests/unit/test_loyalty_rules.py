"""Earning rules as a versioned rule book: every trigger, condition and action kind, validity
dates, tiers, versions and the dry run — the ledger explains every award by rule and version."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from crm_events.loyalty import PointsAwarded
from crm_loyalty.rulebook import RuleBookFile
from crm_runtime.errors import Conflict, DomainError
from tests.unit.loyalty_plugin import NOW, Loyalty

pytestmark = pytest.mark.unit


def rule(rule_id: str, trigger: str, action: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "description": rule_id, "trigger": trigger, "action": action, **extra}


PURCHASE = rule("purchase-points", "purchase_recorded", {"kind": "per_currency_unit", "points": 1})


@pytest.fixture
async def loyalty() -> Loyalty:
    loyalty = Loyalty()
    await loyalty.register()
    return loyalty


async def test_the_default_rule_book_earns_per_currency_unit_and_the_ledger_names_it(
    loyalty: Loyalty,
) -> None:
    await loyalty.purchase(12_990)

    entry = loyalty.entries["earn:buy-ord-1"]
    assert (entry.points, entry.details["rulebook_version"]) == (129, 1)
    assert entry.details["rules"]["purchase-points"]["points"] == 129
    awarded = loyalty.published(PointsAwarded)[0]
    assert (awarded["rule_id"], awarded["rulebook_version"]) == ("purchase-points", 1)
    assert awarded["rule_points"] == {"purchase-points": 129}


async def test_a_fixed_award_on_contact_logged_fires_on_its_channel_only_and_once(
    loyalty: Loyalty,
) -> None:
    contact_rule = rule(
        "visit-bonus",
        "contact_logged",
        {"kind": "fixed", "points": 25},
        conditions=[{"field": "channel", "op": "in", "value": ["visit", "meeting"]}],
    )
    book = await loyalty.put_rules({"rules": [PURCHASE, contact_rule]})

    assert await loyalty.contact(1, channel="visit") is True
    assert await loyalty.contact(1, channel="visit") is False  # redelivered
    await loyalty.contact(2, channel="phone")

    entry = loyalty.entries["earn:contact-1"]
    assert (entry.points, entry.details["rules"]["visit-bonus"]["version"]) == (25, book.version)
    assert "earn:contact-2" not in loyalty.entries  # no rule fired: nothing to explain
    assert (await loyalty.account()).balance == 25
    assert [a["reason"] for a in loyalty.published(PointsAwarded)] == ["contact"]


async def test_amount_and_category_conditions_select_the_purchases_a_rule_rewards(
    loyalty: Loyalty,
) -> None:
    big_electronics = rule(
        "big-electronics",
        "purchase_recorded",
        {"kind": "fixed", "points": 500},
        conditions=[
            {"field": "amount_minor", "op": "gte", "value": 20_000},
            {"field": "category", "op": "in", "value": ["electronics"]},
        ],
    )
    await loyalty.put_rules({"rules": [PURCHASE, big_electronics]})

    await loyalty.purchase(30_000, order="ord-1", category="electronics")
    await loyalty.purchase(10_000, order="ord-3", category="electronics")
    await loyalty.purchase(30_000, order="ord-2", category="garden")

    assert loyalty.entries["earn:buy-ord-1"].points == 300 + 500
    assert loyalty.entries["earn:buy-ord-2"].points == 300
    assert loyalty.entries["earn:buy-ord-3"].points == 100


async def test_the_highest_multiplier_applies_without_stacking_and_channel_conditions_hold(
    loyalty: Loyalty,
) -> None:
    double = rule(
        "app-double",
        "purchase_recorded",
        {"kind": "multiplier", "percent": 200},
        conditions=[{"field": "channel", "op": "eq", "value": "app"}],
    )
    triple = rule("triple", "purchase_recorded", {"kind": "multiplier", "percent": 300})
    await loyalty.put_rules({"rules": [PURCHASE, double]})
    await loyalty.purchase(10_000, order="ord-1", channel="app")
    await loyalty.purchase(10_000, order="ord-2", channel="web")
    await loyalty.put_rules({"rules": [PURCHASE, double, triple]})
    await loyalty.purchase(10_000, order="ord-3", channel="app")

    assert loyalty.entries["earn:buy-ord-1"].points == 200
    assert loyalty.entries["earn:buy-ord-2"].points == 100
    explained = loyalty.entries["earn:buy-ord-3"].details["rules"]["purchase-points"]
    assert (explained["points"], explained["multiplier_rule"]) == (300, "triple")
    # Multipliers scale points, never the qualifying (tier) points.
    assert (await loyalty.account()).qualifying_points == 300


async def test_a_rule_earns_only_within_its_validity_dates(loyalty: Loyalty) -> None:
    march = rule(
        "march-promo",
        "purchase_recorded",
        {"kind": "fixed", "points": 50},
        valid_from=(NOW + timedelta(days=1)).isoformat(),
        valid_until=(NOW + timedelta(days=31)).isoformat(),
    )
    await loyalty.put_rules({"rules": [PURCHASE, march]})
    await loyalty.purchase(1_000, order="ord-1", purchased_at=NOW.isoformat())
    later = NOW + timedelta(days=2)
    loyalty.clock.set(later)
    await loyalty.purchase(1_000, order="ord-2", purchased_at=later.isoformat())
    loyalty.clock.set(NOW + timedelta(days=40))
    await loyalty.purchase(1_000, order="ord-3", purchased_at=loyalty.clock.now().isoformat())

    points = [loyalty.entries[f"earn:buy-ord-{n}"].points for n in (1, 2, 3)]
    assert points == [10, 60, 10]


async def test_tier_conditions_survey_and_resolution_triggers(loyalty: Loyalty) -> None:
    survey_rule = rule(
        "survey-thanks",
        "survey_answered",
        {"kind": "fixed", "points": 20},
        conditions=[{"field": "csat", "op": "gte", "value": 1}],
    )
    goodwill = rule(
        "late-resolution",
        "complaint_resolved",
        {"kind": "fixed", "points": 100},
        conditions=[{"field": "within_sla", "op": "eq", "value": False}],
        qualifying=False,
    )
    gold_only = rule(
        "gold-survey",
        "survey_answered",
        {"kind": "fixed", "points": 1000},
        conditions=[{"field": "tier", "op": "in", "value": ["gold"]}],
    )
    await loyalty.put_rules({"rules": [PURCHASE, survey_rule, goodwill, gold_only]})

    await loyalty.survey(1, csat=2)
    await loyalty.resolved(1, within_sla=False)
    await loyalty.resolved(2, within_sla=True)

    assert loyalty.entries["earn:survey-1"].points == 20
    assert list(loyalty.entries["earn:survey-1"].details["rules"]) == ["survey-thanks"]
    assert loyalty.entries["earn:resolved-1"].points == 100
    assert "earn:resolved-2" not in loyalty.entries
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points) == (120, 20)
    reasons = sorted(a["reason"] for a in loyalty.published(PointsAwarded))
    assert reasons == ["goodwill", "survey"]


async def test_tier_multipliers_apply_to_rule_awards(loyalty: Loyalty) -> None:
    await loyalty.purchase(100_000, order="ord-1")  # 1,000 qualifying points: silver (125 %)
    await loyalty.put_rules(
        {"rules": [PURCHASE, rule("c", "contact_logged", {"kind": "fixed", "points": 40})]}
    )
    await loyalty.contact(1)

    assert loyalty.entries["earn:contact-1"].points == 50
    assert loyalty.entries["earn:contact-1"].details["multiplier_percent"] == 125


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (rule("x", "contact_logged", {"kind": "per_currency_unit", "points": 1}), "no amount"),
        (
            rule(
                "x",
                "contact_logged",
                {"kind": "fixed", "points": 1},
                conditions=[{"field": "amount_minor", "op": "gte", "value": 1}],
            ),
            "no field",
        ),
        (
            rule(
                "x",
                "purchase_recorded",
                {"kind": "fixed", "points": 1},
                conditions=[{"field": "category", "op": "gte", "value": 1}],
            ),
            "only numeric",
        ),
        (
            rule(
                "x",
                "purchase_recorded",
                {"kind": "fixed", "points": 1},
                conditions=[{"field": "amount_minor", "op": "gte", "value": "a"}],
            ),
            "expects a int",
        ),
        (rule("x", "purchase_recorded", {"kind": "multiplier", "points": 1}), "needs percent"),
        (
            rule(
                "x",
                "purchase_recorded",
                {"kind": "fixed", "points": 1},
                valid_from="2026-05-01T00:00:00Z",
                valid_until="2026-04-01T00:00:00Z",
            ),
            "before valid_until",
        ),
        (rule("X y", "purchase_recorded", {"kind": "fixed", "points": 1}), "pattern"),
    ],
)
async def test_an_invalid_rule_is_refused_before_anything_is_stored(
    loyalty: Loyalty, bad: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        await loyalty.put_rules({"rules": [PURCHASE, bad]})
    assert (await loyalty.books.current()).version == 1


async def test_duplicate_ids_and_unknown_tiers_are_refused(loyalty: Loyalty) -> None:
    with pytest.raises(ValidationError, match="unique"):
        await loyalty.put_rules({"rules": [PURCHASE, PURCHASE]})
    platinum = rule(
        "p",
        "birthday",
        {"kind": "fixed", "points": 1},
        conditions=[{"field": "tier", "op": "in", "value": ["platinum"]}],
    )
    with pytest.raises(DomainError, match="unknown tiers"):
        await loyalty.put_rules({"rules": [platinum]})
    assert loyalty.backend.docs("rulebook_versions") == {}


async def test_a_dry_run_stores_nothing_and_versions_are_kept(loyalty: Loyalty) -> None:
    trial = await loyalty.put_rules({"rules": [PURCHASE]}, dry_run=True)
    assert trial.version == 2
    assert (await loyalty.books.current()).version == 1

    second = await loyalty.put_rules({"rules": [PURCHASE]})
    third = await loyalty.put_rules(
        {"rules": [PURCHASE], "member_cap": {"points": 5, "period": "day"}}
    )
    assert (second.version, third.version) == (2, 3)
    assert [b.version for b in await loyalty.books.versions(limit=10)] == [3, 2]
    assert (await loyalty.books.version(2)).member_cap is None
    with pytest.raises(Conflict, match="version 3, not 2"):
        await loyalty.books.put(third, by="manager:test", expected=2, dry_run=False)


async def test_awards_record_the_version_in_force_when_they_were_decided(loyalty: Loyalty) -> None:
    await loyalty.purchase(1_000, order="ord-1")
    await loyalty.put_rules(
        {"rules": [rule("flat", "purchase_recorded", {"kind": "fixed", "points": 7})]}
    )
    await loyalty.purchase(1_000, order="ord-2")

    first, second = loyalty.entries["earn:buy-ord-1"], loyalty.entries["earn:buy-ord-2"]
    assert (first.details["rulebook_version"], list(first.details["rules"])) == (
        1,
        ["purchase-points"],
    )
    assert (second.details["rulebook_version"], list(second.details["rules"])) == (2, ["flat"])
    assert second.points == 7


async def test_the_start_up_file_is_stored_only_when_newer(loyalty: Loyalty, tmp_path: Any) -> None:
    path = tmp_path / "rules.json"
    flat = rule("flat", "purchase_recorded", {"kind": "fixed", "points": 3})
    path.write_text(json.dumps({"version": 4, "rules": [flat]}), encoding="utf-8")
    await loyalty.books.seed(str(path))
    assert (await loyalty.books.current()).version == 4

    await loyalty.put_rules({"rules": [PURCHASE]})  # a manager's version 5
    path.write_text(json.dumps({"version": 4, "rules": [PURCHASE, flat]}), encoding="utf-8")
    await loyalty.books.seed(str(path))  # a restart with the old file
    current = await loyalty.books.current()
    assert (current.version, [r.id for r in current.rules]) == (5, ["purchase-points"])


async def test_an_invalid_start_up_file_stops_the_start(loyalty: Loyalty, tmp_path: Any) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"version": 2, "rules": [{"id": "x"}]}), encoding="utf-8")
    with pytest.raises(ValidationError):
        await loyalty.books.seed(str(path))
    assert (await loyalty.books.current()).version == 1


def test_the_readme_rule_book_is_valid() -> None:
    readme = Path(__file__).parents[2] / "services" / "loyalty" / "README.md"
    block = re.search(r"```json\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    assert block is not None
    book = RuleBookFile.model_validate_json(block.group(1))
    assert [r.trigger for r in book.rules][-1] == "birthday"
