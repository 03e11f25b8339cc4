"""Finding 8 on the wire: a bulk import publishes customers' purchases (with a tier change
between them) and a contact before their registrations. The purchases are parked, queue
behind each other per customer, and are released in arrival order when the registration
applies — so every balance equals the one of a customer whose registration came first."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.inbound import PurchaseRecorded
from crm_loyalty.settings import LoyaltySettings
from tests.integration.loyalty_fixtures import (
    account_when,
    get,
    golden_bytes,
    loyalty_fixture,  # noqa: F401  (fixture "loyalty")
    loyalty_settings_fixture,  # noqa: F401  (fixture "loyalty_settings")
)
from tests.support import Kafka, consumed, eventually

pytestmark = pytest.mark.integration
CUSTOMERS = 30
# 400, 400, 400 base points reach silver (1,000 qualifying) at the third purchase; later
# purchases earn 125 %. Released in any other order, the multiplier moves.
AMOUNTS = [40_000, 40_000, 40_000, 80_000, 30_000]
BALANCE = 400 * 3 + 800 * 125 // 100 + 300 * 125 // 100


def facts(customer: str) -> dict[str, list[tuple[bytes, bytes]]]:
    """One customer's facts per topic, keyed by the customer, in dependency order."""
    key = customer.encode()
    purchases = [
        golden_bytes(
            PurchaseRecorded,
            f"{customer}-buy-{n}",
            customer,
            order_id=f"{customer}-{n}",
            amount_minor=amount,
        )
        for n, amount in enumerate(AMOUNTS)
    ]
    contact = golden_bytes(ContactLogged, f"{customer}-contact", customer, summary="call")
    registration = golden_bytes(CustomerRegistered, f"{customer}-reg", customer)
    return {
        CustomerRegistered.topic(): [(key, registration)],
        PurchaseRecorded.topic(): [(key, value) for value in purchases],
        ContactLogged.topic(): [(key, contact)],
    }


async def publish(kafka: Kafka, ns: str, customers: list[str], topic: str) -> None:
    """Round robin over the customers, as an import sorted by date would publish them."""
    per_customer = [facts(c)[topic] for c in customers]
    rounds = zip(*per_customer, strict=True)
    await kafka.send_many(ns + topic, [item for each in rounds for item in each])


async def earned(client: Any, customer: str) -> dict[str, int]:
    """Points earned per purchase (by its position), from the customer's ledger."""
    page = await get(client, f"/accounts/{customer}/ledger?limit=50")
    prefix = f"earn:{customer}-buy-"
    return {
        e["entry_id"].removeprefix(prefix): e["delta"]
        for e in page["items"]
        if e["entry_id"].startswith(prefix)
    }


async def score(client: Any, customer: str) -> int:
    return int((await get(client, f"/accounts/{customer}/health"))["score"])


async def test_purchases_published_before_the_registration_earn_as_in_order(
    loyalty: Any, kafka: Kafka, ns: str, mongo: Any, loyalty_settings: LoyaltySettings
) -> None:
    in_order = [f"in-{n}" for n in range(CUSTOMERS)]
    reversed_ = [f"rev-{n}" for n in range(CUSTOMERS)]
    await publish(kafka, ns, in_order, CustomerRegistered.topic())
    for customer in in_order:
        await account_when(loyalty, customer, lambda a: True)

    # The bulk import: every purchase and contact first, the missing registrations last.
    await publish(kafka, ns, in_order + reversed_, PurchaseRecorded.topic())
    await publish(kafka, ns, reversed_, ContactLogged.topic())
    await publish(kafka, ns, in_order, ContactLogged.topic())
    parked = await eventually(
        lambda: consumed(loyalty, "parked"), lambda n: n >= CUSTOMERS * 6, timeout=120
    )
    await publish(kafka, ns, reversed_, CustomerRegistered.topic())

    expected = {str(n): points for n, points in enumerate([400, 400, 400, 1000, 375])}
    for first, later in zip(in_order, reversed_, strict=True):
        control = await account_when(loyalty, first, lambda a: a["balance"] == BALANCE)
        account = await account_when(loyalty, later, lambda a: a["balance"] == BALANCE)
        assert (account["tier"], account["qualifying_points"]) == (
            control["tier"],
            control["qualifying_points"],
        )
        assert await score(loyalty, later) == await score(loyalty, first)
        assert await earned(loyalty, later) == await earned(loyalty, first) == expected
    left = mongo[loyalty_settings.mongo_database]["parked_events"]
    assert await eventually(lambda: left.count_documents({}), lambda n: n == 0) == 0
    assert parked == CUSTOMERS * 6
    assert await consumed(loyalty, "dead_lettered") == 0
