"""Loyalty points in-process against the real wire protocols: Kafka in and out, HTTP, Mongo."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events import decode
from crm_events.contacts import CustomerRegistered
from crm_events.inbound import PurchaseRecorded, PurchaseReturned
from crm_events.loyalty import (
    LoyaltyAccountSettled,
    PointsAwarded,
    PointsRedeemed,
    PointsReversed,
    TierChanged,
)
from crm_events.offboarding import ExitAgreed
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
from tests.support import AGENT, MANAGER, SYSTEM, Kafka, consumed, eventually

pytestmark = pytest.mark.integration
MUG = {"points": 30, "reward": "coffee mug", "reference": "rdm-1"}


async def test_golden_lifecycle_earn_once_reverse_and_redeem_over_http(
    loyalty: Any, kafka: Kafka, ns: str, mongo: Any, loyalty_settings: LoyaltySettings, infra: Any
) -> None:
    await send(kafka, ns, CustomerRegistered, golden_bytes(CustomerRegistered, "reg-1"))
    opened = await account_when(loyalty, "cus-1001", lambda a: True)
    assert (opened["status"], opened["tier"], opened["balance"]) == ("open", "bronze", 0)

    purchase = golden_bytes(PurchaseRecorded, "buy-1")  # 129.90 EUR
    await send(kafka, ns, PurchaseRecorded, purchase)
    await send(kafka, ns, PurchaseRecorded, purchase)
    await eventually(lambda: consumed(loyalty, "duplicate"), lambda n: n >= 1)
    assert (await account_when(loyalty, "cus-1001", lambda a: a["balance"] > 0))["balance"] == 129

    await send(kafka, ns, PurchaseReturned, golden_bytes(PurchaseReturned, "ret-evt-1"))
    await account_when(loyalty, "cus-1001", lambda a: a["balance"] == 129 - 50)  # 49.90 back

    url = "/accounts/cus-1001/redemptions"
    first = await loyalty.post(url, json=MUG, headers={**AGENT, "Idempotency-Key": "rdm-1"})
    retry = await loyalty.post(url, json=MUG, headers={**AGENT, "Idempotency-Key": "rdm-1"})
    too_much = await loyalty.post(url, json={**MUG, "points": 1000}, headers=MANAGER)

    assert first.status_code == retry.status_code == 201, first.text
    assert first.json()["balance"] == retry.json()["balance"] == 49
    assert retry.json()["entry_id"] == first.json()["entry_id"]
    assert too_much.status_code == 422
    assert too_much.json()["detail"] == "insufficient balance: 49 points available, 1000 requested"
    ledger = await get(loyalty, "/accounts/cus-1001/ledger")
    assert [(e["kind"], e["delta"], e["state"]) for e in ledger["items"]] == [
        ("redeem", -30, "posted"),
        ("reverse", -50, "posted"),
        ("earn", 129, "posted"),
    ]

    await outbox_drained(mongo, loyalty_settings)
    published = [PointsAwarded, PointsReversed, PointsRedeemed, TierChanged]
    topics = [ns + model.topic() for model in published]
    found = await read_topics(infra.kafka_bootstrap, topics, expected=4)
    assert [len(found[t]) for t in topics] == [1, 1, 1, 1]  # once each, despite the duplicate
    awarded = decode(found[topics[0]][0].value)
    assert (awarded.data["points"], awarded.data["source_event_id"]) == (129, "buy-1")
    assert (awarded.causationid, awarded.subject) == ("buy-1", "cus-1001")
    assert found[topics[0]][0].key == b"cus-1001"
    assert payloads(found[topics[1]])[0]["balance_after"] == 79
    assert payloads(found[topics[2]])[0]["balance_after"] == 49
    assert payloads(found[topics[3]])[0]["reason"] == "enrolled"


async def test_purchase_before_registration_is_parked_then_applied(
    loyalty: Any, kafka: Kafka, ns: str, mongo: Any, loyalty_settings: LoyaltySettings
) -> None:
    purchase = golden_bytes(PurchaseRecorded, "buy-early", customer_id="cus-late")
    await send(kafka, ns, PurchaseRecorded, purchase, key="cus-late")
    await eventually(lambda: consumed(loyalty, "parked"), lambda n: n >= 1)

    registration = golden_bytes(CustomerRegistered, "reg-late", customer_id="cus-late")
    await send(kafka, ns, CustomerRegistered, registration, key="cus-late")

    account = await account_when(loyalty, "cus-late", lambda a: a["balance"] == 129)
    assert account["qualifying_points"] == 129
    parked = mongo[loyalty_settings.mongo_database]["parked_events"]
    assert await eventually(lambda: parked.count_documents({}), lambda n: n == 0) == 0


async def test_exit_settles_then_redemption_is_refused_and_purchases_earn_nothing(
    loyalty: Any, kafka: Kafka, ns: str, mongo: Any, loyalty_settings: LoyaltySettings, infra: Any
) -> None:
    await send(kafka, ns, CustomerRegistered, golden_bytes(CustomerRegistered, "reg-1"))
    await account_when(loyalty, "cus-1001", lambda a: True)
    await send(kafka, ns, PurchaseRecorded, golden_bytes(PurchaseRecorded, "buy-1"))
    await account_when(loyalty, "cus-1001", lambda a: a["balance"] == 129)

    await send(kafka, ns, ExitAgreed, golden_bytes(ExitAgreed, "exit-1"))
    settled = await account_when(loyalty, "cus-1001", lambda a: a["status"] == "settled")
    refused = await loyalty.post("/accounts/cus-1001/redemptions", json=MUG, headers=SYSTEM)
    later = golden_bytes(PurchaseRecorded, "buy-2", order_id="ord-50002")
    await send(kafka, ns, PurchaseRecorded, later)

    assert settled["balance"] == 0
    assert settled["settlement"]["case_id"] == "obc-8001"
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("account frozen")

    async def ledger_kinds() -> list[tuple[str, str]]:
        page = await get(loyalty, "/accounts/cus-1001/ledger")
        return [(e["entry_id"], e["state"]) for e in page["items"]]

    # Entries are inserted right after the account write that carries them: wait for the
    # last one (the real broker delivers fast enough to catch it between).
    entries = await eventually(
        ledger_kinds, lambda items: len(items) == 3 and all(s != "pending" for _, s in items)
    )
    assert sorted(entries) == [
        ("earn:buy-1", "posted"),
        ("earn:buy-2", "ignored"),
        ("settle:exit-1", "posted"),
    ]
    assert (await get(loyalty, "/accounts/cus-1001"))["balance"] == 0

    await outbox_drained(mongo, loyalty_settings)
    topics = [ns + LoyaltyAccountSettled.topic(), ns + PointsAwarded.topic()]
    found = await read_topics(infra.kafka_bootstrap, topics, expected=2)
    [settlement] = payloads(found[topics[0]])
    assert len(found[topics[1]]) == 1  # only the purchase before the exit earned
    assert settlement["balance_points"] == 129
    assert (settlement["settlement"], settlement["amount_minor"]) == ("cash_out", 129)
    assert settlement["case_id"] == "obc-8001"


async def test_queries_need_a_known_key_and_account(loyalty: Any) -> None:
    unknown = await loyalty.get("/accounts/nobody", headers=AGENT)
    no_key = await loyalty.get("/accounts/nobody")
    bad_body = await loyalty.post(
        "/accounts/nobody/redemptions", json={**MUG, "points": 0}, headers=AGENT
    )

    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "loyalty account nobody not found"
    assert no_key.status_code == 401
    assert bad_body.status_code == 422
    openapi = (await loyalty.get("/openapi.json")).json()
    assert "/accounts/{customer_id}/redemptions" in openapi["paths"]
