"""The dissolution to its end (issue 9), with the services as separate OS processes on the
real clock, driven only through HTTP and Kafka: risks of all four categories → case → plan
→ rounds → exit → effective date → relationship ended → retention period → erasure in
every service that holds personal data, proven by querying each (no personal data left,
facts intact) → attestations → follow-up period → review → closed; an export bundle with
every service's section taken before the erasure; a legal hold that blocks the erasure
until it is released; and a replay of the whole history that resurrects nothing.

The periods are seconds long (``DISPOSAL_RETENTION_S=2``, effective dates a few seconds
ahead) so the clock-driven steps happen on the real clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events.common import RiskCategory
from crm_events.inbound import CustomerDeprioritised, RegulationChanged
from tests.e2e.test_lifecycle import SERVICES, Platform, stored
from tests.support import AGENT, MANAGER, SYSTEM, eventually

pytestmark = pytest.mark.e2e
CUSTOMER = "cus-e2e-1"  # the Platform's customer
ATTESTING = ["contacts", "feedback", "loyalty", "offboarding", "insights"]
EXPORTING = ["contacts", "feedback", "loyalty", "offboarding"]  # insights: derived data only
SECRET = "private-5550101"  # personal data planted in every service's free text


class DissolutionPlatform(Platform):
    names = (*SERVICES, "insights")

    def _settings(self, infra: Any, name: str) -> dict[str, Any]:
        settings = super()._settings(infra, name)
        if name == "offboarding":
            settings["disposal_retention_s"] = 2
            settings["disposal_services"] = json.dumps(ATTESTING)
            settings["export_services"] = json.dumps(EXPORTING)
        return settings


@pytest.fixture
async def crm(infra: Any) -> AsyncIterator[DissolutionPlatform]:
    async with DissolutionPlatform.running(infra) as platform:
        yield platform


async def post(crm: Platform, service: str, path: str, body: Any, who: Any = MANAGER) -> Any:
    response = await crm.http[service].post(path, json=body, headers=who)
    assert response.status_code in (200, 201), (service, path, response.text)
    return response.json()


async def personal_data_in_place(crm: Platform) -> None:
    """The customer in contacts, a contact and a complaint, each holding the secret."""
    registration = {
        "customer_id": CUSTOMER,
        "display_name": "Erika Example",
        "email": "erika@example.com",
        "phone": "+49 30 5550101",
        "owner_id": "emp-1",
    }
    await post(crm, "contacts", "/customers", registration, SYSTEM)
    contact = {
        "channel": "phone",
        "direction": "inbound",
        "employee_id": "emp-1",
        "summary": f"Wants calls on {SECRET} only",
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    }
    await post(crm, "contacts", f"/customers/{CUSTOMER}/contacts", contact, AGENT)
    complaint = {
        "customer_id": CUSTOMER,
        "severity": "low",
        "category": "billing",
        "channel": "email",
        "description": f"Invoice sent to {SECRET}",
        "owner_id": "emp-7",
    }
    await post(crm, "feedback", "/complaints", complaint, AGENT)


async def case_with_four_risks(crm: Platform) -> str:
    """Two categories raised by managers, two by loyalty from strategy and legal facts."""
    case_id = ""
    for category in (RiskCategory.CUSTOMER_PERFORMANCE, RiskCategory.MARKET_COMPETITION):
        raised = {
            "customer_id": CUSTOMER,
            "category": category.value,
            "reasons": [f"{category.value} signal"],
            "evidence": [f"memo about {SECRET}"],
            "opened_by": "mgr-1",
        }
        case = await post(crm, "offboarding", "/cases", raised)
        case_id = case_id or case["case_id"]
        assert case["case_id"] == case_id  # later risks join the open case
    await eventually(
        lambda: crm.http["loyalty"].get(f"/accounts/{CUSTOMER}", headers=AGENT),
        lambda r: r.status_code == 200,
        timeout=60,
    )
    await crm.publish(CustomerDeprioritised, "strategy-chg-1", change_id="chg-1")
    await crm.publish(RegulationChanged, "legal-reg-1", regulation_id="reg-1")
    await eventually(lambda: case_state(crm, case_id), lambda c: len(c["risks"]) == 4, timeout=60)
    return case_id


async def negotiate_exit(crm: Platform, case_id: str, effective: datetime, until: datetime) -> None:
    url = f"/cases/{case_id}"
    plan = {
        "goal": "announce the end of the relationship",
        "audience": "customer's managing director",
        "channel": "meeting",
        "scheduled_at": datetime.now(UTC).isoformat(),
        "planned_by": "mgr-1",
    }
    await post(crm, "offboarding", f"{url}/communications", plan)
    held = {"number": 1, "outcome": "understood", "held_by": "mgr-1"}
    await post(crm, "offboarding", f"{url}/communications-held", held)
    terminate = {
        "strategy": "terminate",
        "compensation_minor": 1_000,
        "currency": "EUR",
        "reason": "regulation and strategy leave no room",
        "decided_by": "mgr-1",
    }
    await post(crm, "offboarding", f"{url}/strategy", terminate)
    for outcome in ("continue", "agreement_reached"):
        round_ = {"channel": "meeting", "participants": ["mgr-1"], "outcome": outcome}
        await post(crm, "offboarding", f"{url}/negotiation-rounds", round_)
    agreement = {
        "effective_date": effective.isoformat(),
        "compensation_minor": 1_000,
        "currency": "EUR",
        "terms": f"Final papers to {SECRET}",
        "agreed_by": "mgr-1",
        "follow_up_until": until.isoformat(),
    }
    await post(crm, "offboarding", f"{url}/exit", agreement)


async def case_state(crm: Platform, case_id: str) -> dict[str, Any]:
    return dict(await crm.get("offboarding", f"/cases/{case_id}"))


async def reach(crm: Platform, case_id: str, state: str) -> dict[str, Any]:
    case = await eventually(
        lambda: case_state(crm, case_id), lambda c: c["state"] == state, timeout=60
    )
    assert case["state"] == state, case
    return case


async def erased_views(crm: Platform) -> dict[str, Any]:
    return stored(
        {
            "customer": await crm.get("contacts", f"/customers/{CUSTOMER}"),
            "timeline": await crm.get("contacts", f"/customers/{CUSTOMER}/timeline?limit=200"),
            "complaints": await crm.get("feedback", f"/customers/{CUSTOMER}/complaints"),
            "cases": await crm.get("offboarding", f"/customers/{CUSTOMER}/cases"),
            "journey": await crm.get("insights", f"/customers/{CUSTOMER}/journey?limit=500"),
        }
    )


REVIEW = {
    "root_causes": ["law_and_regulation", "company_strategy"],
    "preventable": True,
    "late_signals": ["regulator notice", "crm.inbound.payment-overdue.v1"],
    "changes": ["watch regulatory calendars", "call when a payment is overdue"],
    "summary": "Regulation forced the exit; the overdue payments warned too quietly.",
    "reviewed_by": "mgr-1",
}


async def test_dissolution_from_risk_to_closed_with_export_erasure_and_replay(
    crm: DissolutionPlatform,
) -> None:
    await personal_data_in_place(crm)
    case_id = await case_with_four_risks(crm)
    now = datetime.now(UTC)
    effective, follow_up_until = now + timedelta(seconds=6), now + timedelta(seconds=14)
    await negotiate_exit(crm, case_id, effective, follow_up_until)

    # --- export before the data goes: one section per service ----------------------------
    case = await post(crm, "offboarding", f"/cases/{case_id}/exports", {"requested_by": "mgr-1"})
    export_id = case["exports"][0]["export_id"]
    await eventually(
        lambda: case_state(crm, case_id), lambda c: c["exports"][0]["delivered_at"], timeout=60
    )
    bundle = (
        await crm.http["offboarding"].get(f"/cases/{case_id}/exports/{export_id}", headers=MANAGER)
    ).json()

    # --- the end, the erasure, the attestations --------------------------------------------
    await reach(crm, case_id, "relationship_ended")
    await eventually(
        lambda: case_state(crm, case_id),
        lambda c: c["disposal"] is not None and not c["disposal"]["missing"],
        timeout=60,
    )
    erased = await erased_views(crm)
    await reach(crm, case_id, "review")
    await post(crm, "offboarding", f"/cases/{case_id}/review", REVIEW)
    closed_case = await reach(crm, case_id, "closed")
    [closed] = await crm.events_named("OffboardingCaseClosed", 1)
    learned = await eventually(
        lambda: crm.get("loyalty", "/health/weights"), lambda w: w["version"] == 2, timeout=60
    )
    [ended] = await crm.events_named("RelationshipEnded", 1)
    attestations = await crm.events_named("PersonalDataErased", len(ATTESTING))

    # --- the whole history again: nothing comes back ------------------------------------------
    before = await erased_views(crm)
    expected = await crm.replay_everything()
    for name in ATTESTING:
        await eventually(
            lambda n=name: crm.consumed(n, "duplicate"),
            lambda d, n=name: d >= expected[n],
            timeout=120,
        )
    after = await erased_views(crm)

    assert sorted(bundle["sections"]) == sorted(EXPORTING)
    assert SECRET in json.dumps(bundle["sections"]["contacts"])
    assert SECRET in json.dumps(bundle["sections"]["feedback"])
    assert {r["category"] for r in closed_case["risks"]} == {c.value for c in RiskCategory}
    assert ended.data["case_id"] == case_id
    assert sorted(a.data["service"] for a in attestations) == sorted(ATTESTING)
    assert SECRET not in json.dumps(erased)
    assert erased["customer"]["display_name"] == "[erased]"
    assert erased["customer"]["email"] is None
    assert (erased["customer"]["lifecycle"], erased["customer"]["classification"]) == (
        "former",
        "churned",
    )
    [complaint] = erased["complaints"]["items"]
    assert (complaint["severity"], complaint["category"]) == ("low", "billing")  # facts stay
    kinds = {item["kind"] for item in erased["timeline"]["items"]}
    assert {"contact", "exit-agreed", "relationship-ended"} <= kinds
    assert closed.data["root_causes"] == ["law_and_regulation", "company_strategy"]
    # The lesson reached loyalty: the signal that warned too late weighs more now.
    assert learned["learning"]["case_id"] == case_id
    assert learned["learning"]["ignored"] == ["regulator notice"]
    [moved] = learned["learning"]["adjustments"]
    assert moved["weight"] == "payment_overdue"
    assert moved["after"] == learned["weights"]["payment_overdue"] < moved["before"]
    assert after == before
    assert SECRET not in json.dumps(after)


async def test_a_legal_hold_blocks_the_erasure_until_it_is_released(
    crm: DissolutionPlatform,
) -> None:
    await personal_data_in_place(crm)
    case_id = await case_with_four_risks(crm)
    hold = {"hold_id": "hold-1", "reason": "pending litigation", "placed_by": "mgr-legal"}
    await post(crm, "offboarding", f"/cases/{case_id}/holds", hold)
    now = datetime.now(UTC)
    await negotiate_exit(crm, case_id, now + timedelta(seconds=4), now + timedelta(seconds=60))

    await reach(crm, case_id, "relationship_ended")
    await asyncio.sleep(4)  # the retention period (2 s) has passed: only the hold stops it
    held = await case_state(crm, case_id)
    still_there = await erased_views(crm)
    release = {"hold_id": "hold-1", "released_by": "mgr-legal"}
    await post(crm, "offboarding", f"/cases/{case_id}/hold-releases", release)
    disposed = await eventually(
        lambda: case_state(crm, case_id),
        lambda c: c["disposal"] is not None and not c["disposal"]["missing"],
        timeout=60,
    )
    erased = await erased_views(crm)
    [placed] = await crm.events_named("LegalHoldPlaced", 1)
    [released] = await crm.events_named("LegalHoldReleased", 1)

    assert held["on_hold"] is True
    assert held["disposal"] is None
    assert SECRET in json.dumps(still_there)
    assert [h["released_by"] for h in disposed["holds"]] == ["mgr-legal"]
    assert SECRET not in json.dumps(erased)
    assert (placed.data["hold_id"], released.data["hold_id"]) == ("hold-1", "hold-1")
