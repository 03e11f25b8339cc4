"""The ``referral`` earning trigger (issue 11): the referrer earns by the rules, once per
event, within the caps; a self-referral is refused; a referral before the referrer's
account waits for it."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from crm_events.contacts import CustomerRegistered
from crm_events.inbound import ReferralRecorded
from crm_events.loyalty import PointsAwarded
from crm_loyalty.rulebook import RuleBookBody
from tests.unit.loyalty_plugin import Loyalty, LoyaltyApp, golden
from tests.unit.test_loyalty_rules import PURCHASE, rule

pytestmark = pytest.mark.unit

REFERRAL = rule(
    "referral-bonus",
    "referral",
    {"kind": "fixed", "points": 500},
    conditions=[{"field": "channel", "op": "in", "value": ["link", "code"]}],
    cap={"points": 1000, "period": "month"},
    qualifying=False,
)


@pytest.fixture
async def loyalty() -> Loyalty:
    loyalty = Loyalty()
    await loyalty.register()
    return loyalty


async def test_a_referral_earns_the_referrer_once_by_its_rule_and_version(
    loyalty: Loyalty,
) -> None:
    book = await loyalty.put_rules({"rules": [PURCHASE, REFERRAL]})

    assert await loyalty.referral(1, channel="link") is True
    assert await loyalty.referral(1, channel="link") is False  # redelivered
    await loyalty.referral(2, channel="in_person")  # the condition does not hold

    entry = loyalty.entries["earn:referral-1"]
    assert (entry.points, entry.details["trigger"]) == (500, "referral")
    assert entry.details["rules"]["referral-bonus"]["version"] == book.version
    assert "earn:referral-2" not in loyalty.entries
    account = await loyalty.account()
    assert (account.balance, account.qualifying_points) == (500, 0)  # not qualifying
    (awarded,) = loyalty.published(PointsAwarded)
    assert (awarded["rule_id"], awarded["rulebook_version"]) == ("referral-bonus", book.version)
    assert (awarded["reason"], awarded["points"]) == ("manual", 500)  # v1 has no "referral"


async def test_the_rule_cap_withholds_referral_points_and_says_so(loyalty: Loyalty) -> None:
    await loyalty.put_rules({"rules": [PURCHASE, REFERRAL]})

    for n in range(1, 4):
        await loyalty.referral(n, channel="code")

    third = loyalty.entries["earn:referral-3"]
    assert (third.points, third.details["capped"]) == (0, 500)
    assert third.note == "500 points capped (rule referral-bonus cap: 1000 points per month)"
    assert (await loyalty.account()).balance == 1000


async def test_a_referral_without_a_channel_earns_by_an_unconditional_rule(
    loyalty: Loyalty,
) -> None:
    plain = rule("any-referral", "referral", {"kind": "fixed", "points": 50})
    await loyalty.put_rules({"rules": [PURCHASE, plain]})

    await loyalty.referral(1, channel=None)

    assert loyalty.entries["earn:referral-1"].points == 50


async def test_the_default_rule_book_gives_nothing_for_a_referral(loyalty: Loyalty) -> None:
    assert await loyalty.referral(1) is True  # applied: the fact is known, nothing earned

    assert "earn:referral-1" not in loyalty.entries
    assert (await loyalty.account()).balance == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (rule("r", "referral", {"kind": "per_currency_unit", "points": 1}), "no amount"),
        (
            rule(
                "r",
                "referral",
                {"kind": "fixed", "points": 1},
                conditions=[{"field": "amount_minor", "op": "gte", "value": 1}],
            ),
            "referral has no field 'amount_minor'",
        ),
    ],
)
def test_referral_rules_are_validated_like_every_rule(body: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        RuleBookBody.model_validate({"rules": [PURCHASE, body]})


def _referral(customer_id: str, referred: str, event_id: str, loyalty_app: LoyaltyApp) -> Any:
    data = golden(ReferralRecorded, customer_id=customer_id, referred_customer_id=referred)
    return data.to_event(source="/test", event_id=event_id, time=loyalty_app.clock.now())


async def test_a_self_referral_is_refused_and_writes_nothing(loyalty_app: LoyaltyApp) -> None:
    registered = golden_registration(loyalty_app)
    assert await loyalty_app.deliver(registered) == "applied"
    before = copy.deepcopy(loyalty_app.backend.collections)

    outcome = await loyalty_app.deliver(_referral("cus-1", "cus-1", "ref-evt-1", loyalty_app))

    assert outcome == "dlq:rejected: self-referral: referral ref-3001 names its referrer"
    assert loyalty_app.backend.collections == before


async def test_a_referral_before_the_referrers_account_is_parked(
    loyalty_app: LoyaltyApp,
) -> None:
    event = _referral("cus-1", "cus-2", "ref-evt-1", loyalty_app)

    assert await loyalty_app.deliver(event) == "parked"


def golden_registration(loyalty_app: LoyaltyApp) -> Any:
    data = golden(CustomerRegistered)
    return data.to_event(source="/test", event_id="reg-1", time=loyalty_app.clock.now())
