"""A date of birth entered in contacts reaches loyalty's birthday over the real wire
protocols: HTTP into contacts, ``CustomerRegistered`` over Kafka, loyalty (on a manual
clock) turns it into a yearly due date and the birthday rule awards on the day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events import decode
from crm_events.contacts import CustomerRegistered
from crm_events.loyalty import PointsAwarded
from crm_loyalty.app import create_app
from crm_loyalty.settings import LoyaltySettings
from crm_runtime.clock import ManualClock
from tests.integration.loyalty_fixtures import (
    START,
    account_when,
    outbox_drained,
    payloads,
    read_topics,
)
from tests.support import MANAGER, SYSTEM, Kafka, serving

pytestmark = pytest.mark.integration

BOOK = {
    "rules": [
        {
            "id": "birthday-gift",
            "description": "200 points on the birthday",
            "trigger": "birthday",
            "action": {"kind": "fixed", "points": 200},
        }
    ]
}
CUSTOMER = {
    "customer_id": "cus-born",
    "display_name": "Example Customer",
    "owner_id": "emp-1",
    "date_of_birth": "1990-03-20",
}


async def test_a_date_of_birth_registered_in_contacts_earns_the_birthday_in_loyalty(
    contacts: Any,
    make_settings: Callable[..., Any],
    kafka: Kafka,
    ns: str,
    infra: Any,
    mongo: Any,
) -> None:
    clock = ManualClock(START)  # 10 March 2025: the birthday is ten days away
    settings: LoyaltySettings = make_settings(LoyaltySettings)
    async with serving(create_app(settings, clock=clock)) as loyalty:
        assert (await loyalty.put("/rules", json=BOOK, headers=MANAGER)).status_code == 200
        registered = await contacts.post("/customers", json=CUSTOMER, headers=SYSTEM)
        assert registered.status_code == 201, registered.text
        assert registered.json()["date_of_birth"] == "1990-03-20"
        await account_when(loyalty, "cus-born", lambda a: a["balance"] == 0)

        clock.set(datetime(2025, 3, 20, 0, 1, tzinfo=UTC))
        account = await account_when(loyalty, "cus-born", lambda a: a["balance"] == 200)
        assert account["balance"] == 200
        await outbox_drained(mongo, settings)  # PointsAwarded is on the broker

    (record,) = await kafka.read(ns + CustomerRegistered.topic(), expected=1)
    assert decode(record.value).data["date_of_birth"] == "1990-03-20"
    topic = ns + PointsAwarded.topic()
    awarded = payloads((await read_topics(infra.kafka_bootstrap, [topic], expected=1))[topic])
    assert [(a["reason"], a["points"]) for a in awarded] == [("birthday", 200)]


async def test_a_date_of_birth_in_the_future_is_refused_with_the_reason(contacts: Any) -> None:
    later = datetime.now(UTC).date() + timedelta(days=2)
    body = {**CUSTOMER, "date_of_birth": later.isoformat()}

    refused = await contacts.post("/customers", json=body, headers=SYSTEM)
    too_old = await contacts.post(
        "/customers", json={**CUSTOMER, "date_of_birth": "1899-12-31"}, headers=SYSTEM
    )

    assert refused.status_code == 422
    assert "future" in refused.json()["detail"]
    assert too_old.status_code == 422
    assert (await contacts.get("/customers/cus-born", headers=SYSTEM)).status_code == 404
