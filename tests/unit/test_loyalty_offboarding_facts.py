"""Loyalty's part of issue 9 through the real wiring over the in-memory store: strategy and
regulation facts raise one RiskDetected per episode; the erasure request overwrites the
redemptions' and goodwill adjustments' free text, drops the birthday (issue 11) and attests
in the account write; the export request publishes the account and ledger; settling at the
end of the relationship consumes the point lots."""

from __future__ import annotations

import json

import pytest

from crm_events import CloudEvent, EventData
from crm_events.contacts import CustomerProfileUpdated, CustomerRegistered
from crm_events.inbound import CustomerDeprioritised, PurchaseRecorded, RegulationChanged
from crm_events.offboarding import (
    ExitAgreed,
    PersonalDataErasureRequested,
    PersonalDataExportRequested,
    RelationshipEnded,
)
from crm_loyalty import codec
from crm_loyalty.app import create_app
from crm_loyalty.goodwill import Adjustment
from crm_loyalty.service import Redemption
from crm_loyalty.settings import LoyaltySettings
from crm_runtime.clock import ManualClock
from tests.store_memory import InMemoryBackend
from tests.unit.delivery import deliver
from tests.unit.loyalty_plugin import NOW, LoyaltyApp, golden

pytestmark = pytest.mark.unit


def event(data: EventData, event_id: str) -> CloudEvent:
    return data.to_event(source="/test", event_id=event_id, time=NOW)


def published(app: LoyaltyApp, kind: str) -> list[CloudEvent]:
    entries = [
        entry
        for doc in app.backend.docs(codec.ACCOUNTS).values()
        for entry in (doc.get("outbox") or {}).values()
    ]
    found = [CloudEvent.model_validate(json.loads(e["value"])) for e in entries]
    return [e for e in found if e.type.split(".")[2] == kind]


async def registered(app: LoyaltyApp) -> None:
    assert await app.deliver(event(golden(CustomerRegistered), "reg-1")) == "applied"


async def test_strategy_and_regulation_facts_raise_one_risk_per_episode(
    loyalty_app: LoyaltyApp,
) -> None:
    await registered(loyalty_app)
    strategy = event(golden(CustomerDeprioritised), "chg-1")
    regulation = event(golden(RegulationChanged), "reg-change-1")

    assert await loyalty_app.deliver(strategy) == "applied"
    assert await loyalty_app.deliver(regulation) == "applied"
    again = golden(CustomerDeprioritised)  # the same episode under a new event id
    assert await loyalty_app.deliver(event(again, "chg-1-resent")) == "duplicate"

    risks = published(loyalty_app, "risk-detected")
    assert sorted(r.data["category"] for r in risks) == ["company_strategy", "law_and_regulation"]
    assert all(r.data["score"] is not None for r in risks)
    assert len({r.data["risk_id"] for r in risks}) == 2


async def test_a_strategy_fact_for_an_unknown_account_waits(loyalty_app: LoyaltyApp) -> None:
    assert await loyalty_app.deliver(event(golden(CustomerDeprioritised), "chg-1")) == "parked"


async def test_erasure_overwrites_free_text_drops_the_birthday_and_attests_once(
    loyalty_app: LoyaltyApp,
) -> None:
    await registered(loyalty_app)
    profile = event(golden(CustomerProfileUpdated), "profile-1")
    assert await loyalty_app.deliver(profile) == "applied"
    assert await loyalty_app.deliver(event(golden(PurchaseRecorded), "buy-1")) == "applied"
    request = Redemption(points=10, reward="Voucher for Erika's birthday", reference="ord-77")
    await loyalty_app.points.redeem("cus-1", request, "redeem-1")
    grant = Adjustment(50, "Erika waited two hours at the desk", "call 0171 555", "manager:ab12")
    await loyalty_app.points.adjust("cus-1", grant, "goodwill-1")
    before = await loyalty_app.points.accounts.get("cus-1")
    assert before is not None
    assert before.birthday == "04-12"
    erase = golden(PersonalDataErasureRequested)

    assert await loyalty_app.deliver(event(erase, "erase-1")) == "applied"
    assert await loyalty_app.deliver(event(erase, "erase-1")) == "duplicate"

    ledger = loyalty_app.backend.docs(codec.LEDGER).values()
    redeemed = [d for d in ledger if d["kind"] == "redeem"]
    assert [d["details"]["reward"] for d in redeemed] == ["[erased]"]
    assert [d["points"] for d in redeemed] == [10]  # the fact stays
    (granted,) = [d for d in ledger if d["kind"] == "goodwill"]
    assert (granted["details"]["reason"], granted["note"]) == ("[erased]", "[erased]")
    assert granted["details"]["reference"] is None
    assert granted["points"] == 50  # the fact stays
    assert "Erika" not in json.dumps([d for d in ledger], default=str)
    (attestation,) = published(loyalty_app, "personal-data-erased")
    assert (attestation.data["service"], attestation.data["records"]) == ("loyalty", 2)
    assert "account.birthday" in attestation.data["erased_fields"]
    stored = await loyalty_app.points.accounts.get("cus-1")
    assert stored is not None
    assert stored.erased_at == NOW
    assert (stored.birthday, stored.birthday_due_at) == (None, None)
    assert stored.balance == before.balance  # the points (facts) stay


async def test_a_replayed_profile_after_erasure_brings_no_birthday_back(
    loyalty_app: LoyaltyApp,
) -> None:
    await registered(loyalty_app)
    assert await loyalty_app.deliver(event(golden(PersonalDataErasureRequested), "e-1")) == (
        "applied"
    )

    replayed = event(golden(CustomerProfileUpdated), "profile-1")
    assert await loyalty_app.deliver(replayed) in {"applied", "duplicate"}

    stored = await loyalty_app.points.accounts.get("cus-1")
    assert stored is not None
    assert (stored.birthday, stored.birthday_due_at) == (None, None)


async def test_an_export_request_publishes_the_account_and_ledger(
    loyalty_app: LoyaltyApp,
) -> None:
    await registered(loyalty_app)

    assert await loyalty_app.deliver(event(golden(PersonalDataExportRequested), "x-1")) == (
        "applied"
    )

    (section,) = published(loyalty_app, "personal-data-exported")
    body = json.loads(section.data["section"])
    assert body["account"]["customer_id"] == "cus-1"
    assert section.data["section_version"] == "loyalty.export.v1"


async def test_by_default_the_exit_settles_and_the_end_is_only_recorded(
    loyalty_app: LoyaltyApp,
) -> None:
    await registered(loyalty_app)
    assert await loyalty_app.deliver(event(golden(ExitAgreed), "exit-1")) == "applied"

    ended = event(golden(RelationshipEnded), "ended-1")
    assert await loyalty_app.deliver(ended) == "applied"
    assert await loyalty_app.deliver(ended) == "duplicate"

    assert len(published(loyalty_app, "loyalty-account-settled")) == 1
    account = await loyalty_app.points.accounts.get("cus-1")
    assert account is not None
    assert account.relationship_ended_at == golden(RelationshipEnded).ended_at


async def test_configured_to_settle_at_the_end_the_points_stay_usable_until_then() -> None:
    backend, clock = InMemoryBackend(), ManualClock(NOW)
    settings = LoyaltySettings(service_name="loyalty", settle_at="relationship_ended")
    app = create_app(settings, clock, store=backend)
    runtime = app.state.runtime
    assert await deliver(runtime, event(golden(CustomerRegistered), "reg-1")) == "applied"
    assert await deliver(runtime, event(golden(PurchaseRecorded), "buy-1")) == "applied"

    assert await deliver(runtime, event(golden(ExitAgreed), "exit-1")) == "duplicate"
    still_open = await app.state.points.accounts.get("cus-1")
    assert still_open is not None
    assert still_open.is_open
    assert sum(lot.remaining for lot in still_open.lots.values()) == still_open.balance
    assert await deliver(runtime, event(golden(RelationshipEnded), "ended-1")) == "applied"

    settled = await app.state.points.accounts.get("cus-1")
    assert settled is not None
    assert settled.settlement is not None
    assert settled.settlement.case_id == golden(RelationshipEnded).case_id
    assert settled.settlement.points == still_open.balance > 0
    assert (settled.balance, settled.lots) == (0, {})  # the settlement consumed the lots
    assert settled.next_due_at is None
