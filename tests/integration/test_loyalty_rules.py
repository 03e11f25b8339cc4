"""The earning rules against the real wire protocols: a manager stores a rule book over
HTTP, every consumed fact the rules can react to arrives over Kafka (twice, and once more
under a new event id), each earns once with its rule and version in the ledger; a fact
whose rule field is invalid is dead-lettered with the reason and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.feedback import ComplaintResolved, SurveyAnswered
from crm_events.inbound import PurchaseRecorded, ReferralRecorded
from crm_events.loyalty import PointsAwarded
from crm_loyalty.settings import LoyaltySettings
from tests.integration.loyalty_fixtures import (
    account_when,
    get,
    golden_bytes,
    loyalty_fixture,  # noqa: F401  (fixture "loyalty")
    loyalty_settings_fixture,  # noqa: F401  (fixture "loyalty_settings")
    outbox_drained,
    payloads,
    read_topics,
    send,
)
from tests.support import MANAGER, Kafka, consumed, eventually

pytestmark = pytest.mark.integration


def rule(rule_id: str, trigger: str, points: int, **extra: Any) -> dict[str, Any]:
    action = {"kind": "fixed", "points": points}
    return {"id": rule_id, "description": rule_id, "trigger": trigger, "action": action, **extra}


BOOK = {
    "rules": [
        {
            "id": "purchase-points",
            "description": "1 point per EUR",
            "trigger": "purchase_recorded",
            "action": {"kind": "per_currency_unit", "points": 1},
        },
        rule(
            "electronics-bonus",
            "purchase_recorded",
            25,
            conditions=[{"field": "category", "op": "in", "value": ["electronics"]}],
        ),
        rule("contact-points", "contact_logged", 10),
        rule("survey-points", "survey_answered", 15),
        rule("resolution-goodwill", "complaint_resolved", 40, qualifying=False),
        rule(
            "referral-points",
            "referral",
            50,
            conditions=[{"field": "channel", "op": "eq", "value": "link"}],
            qualifying=False,
        ),
    ]
}
FACTS: list[tuple[type[Any], dict[str, Any], str]] = [
    (PurchaseRecorded, {"category": "electronics"}, "earn:buy-1"),
    (ContactLogged, {}, "earn:contact-1"),
    (SurveyAnswered, {}, "earn:survey-1"),
    (ComplaintResolved, {}, "earn:resolved-1"),
    (ReferralRecorded, {}, "earn:referral-1"),
]


async def test_each_consumed_fact_earns_once_by_its_rule_and_version(
    loyalty: Any, kafka: Kafka, ns: str, mongo: Any, loyalty_settings: LoyaltySettings, infra: Any
) -> None:
    stored = await loyalty.put("/rules", json=BOOK, headers=MANAGER)
    assert stored.status_code == 200, stored.text
    version = stored.json()["version"]
    await send(kafka, ns, CustomerRegistered, golden_bytes(CustomerRegistered, "reg-1"))
    await account_when(loyalty, "cus-1001", lambda a: True)

    for model, changes, entry_id in FACTS:
        event_id = entry_id.removeprefix("earn:")
        value = golden_bytes(model, event_id, **changes)
        await send(kafka, ns, model, value)
        await send(kafka, ns, model, value)  # redelivered
        again = golden_bytes(model, f"{event_id}-again", **changes)  # same fact, new id
        await send(kafka, ns, model, again)
    await eventually(lambda: consumed(loyalty, "duplicate"), lambda n: n >= 2 * len(FACTS))

    expected = 129 + 25 + 10 + 15 + 40 + 50
    account = await account_when(loyalty, "cus-1001", lambda a: a["balance"] == expected)
    # goodwill and referral rules here do not qualify
    assert account["qualifying_points"] == 129 + 25 + 10 + 15
    ledger = await get(loyalty, "/accounts/cus-1001/ledger")
    by_id = {e["entry_id"]: e for e in ledger["items"]}
    assert set(by_id) == {entry_id for _, _, entry_id in FACTS}
    purchase = by_id["earn:buy-1"]["details"]
    assert purchase["rulebook_version"] == version
    assert {k: v["points"] for k, v in purchase["rules"].items()} == {
        "purchase-points": 129,
        "electronics-bonus": 25,
    }

    await outbox_drained(mongo, loyalty_settings)
    topic = ns + PointsAwarded.topic()
    awarded = payloads((await read_topics(infra.kafka_bootstrap, [topic], expected=5))[topic])
    assert sorted((a["reason"], a["rule_id"]) for a in awarded) == [
        ("contact", "contact-points"),
        ("goodwill", "resolution-goodwill"),
        ("manual", "referral-points"),  # PointsAwarded v1 has no "referral" reason
        ("purchase", "purchase-points"),
        ("survey", "survey-points"),
    ]
    assert {a["rulebook_version"] for a in awarded} == {version}


async def test_a_fact_with_an_invalid_rule_field_is_dead_lettered_with_the_reason(
    loyalty: Any, kafka: Kafka, ns: str
) -> None:
    await send(kafka, ns, CustomerRegistered, golden_bytes(CustomerRegistered, "reg-1"))
    await account_when(loyalty, "cus-1001", lambda a: True)
    bad = golden_bytes(PurchaseRecorded, "buy-bad", category="Home & Garden")
    await send(kafka, ns, PurchaseRecorded, bad)

    (dead,) = await kafka.read(ns + PurchaseRecorded.topic() + ".dlq", expected=1)
    assert dead.headers["dlq-kind"] == "schema"
    assert "category" in dead.headers["dlq-reason"]
    account = await get(loyalty, "/accounts/cus-1001")
    assert (account["balance"], account["lots"]) == (0, [])


async def test_a_self_referral_is_dead_lettered_as_rejected_and_earns_nothing(
    loyalty: Any, kafka: Kafka, ns: str
) -> None:
    assert (await loyalty.put("/rules", json=BOOK, headers=MANAGER)).status_code == 200
    await send(kafka, ns, CustomerRegistered, golden_bytes(CustomerRegistered, "reg-1"))
    await account_when(loyalty, "cus-1001", lambda a: True)
    own = golden_bytes(ReferralRecorded, "referral-self", referred_customer_id="cus-1001")
    await send(kafka, ns, ReferralRecorded, own)

    (dead,) = await kafka.read(ns + ReferralRecorded.topic() + ".dlq", expected=1)
    assert dead.headers["dlq-kind"] == "rejected"
    assert "self-referral" in dead.headers["dlq-reason"]
    account = await get(loyalty, "/accounts/cus-1001")
    assert (account["balance"], account["lots"]) == (0, [])
