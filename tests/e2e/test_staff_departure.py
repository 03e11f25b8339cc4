"""Relationships belong to the company (issue 8), across the four services as processes.

An employee owns 200 customers, 50 open complaints and 3 open offboarding cases; HR
publishes their departure. Afterwards every per-employee query in every service is empty,
every customer has an owner still with the company, each complaint keeps its deadlines,
the departure record counts what each service handed over — and redelivering the whole
history changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events import EventData
from crm_events.contacts import CustomerRegistered
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintRaised
from crm_events.inbound import EmployeeDeparted
from crm_events.loyalty import RiskDetected
from tests.e2e.test_lifecycle import SERVICES, Platform
from tests.support import eventually

pytestmark = pytest.mark.e2e
LEAVER, MATE = "emp-leaver", "emp-mate"
CUSTOMERS = [f"cus-dep-{n:03d}" for n in range(200)]
WITH_TEAM = set(CUSTOMERS[:120])  # a colleague on the team takes these over
COMPLAINED = CUSTOMERS[:50]
AT_RISK = CUSTOMERS[60:63]
# A colleague's account on which the leaver holds one open complaint (a support case).
OTHERS_ACCOUNT, OTHER_OWNER, SUPPORT_CASE = "cus-dep-colleague", "emp-colleague", "dep-c-other"


@pytest.fixture
async def crm(infra: Any) -> AsyncIterator[Platform]:
    async with Platform.running(infra) as platform:
        yield platform


async def publish(
    crm: Platform, model: type[EventData], key: str, event_id: str, **data: Any
) -> None:
    golden = load_golden(model)
    event = golden.model_copy(
        update={
            "id": event_id,
            "source": "/erp",
            "subject": key,
            "time": datetime.now(UTC),
            "correlationid": event_id,
            "causationid": None,
            "data": {**golden.data, **data},
        }
    )
    await crm.kafka.send(crm.topic(model), event.to_bytes(), key=key.encode())


async def every(crm: Platform, service: str, path: str) -> list[dict[str, Any]]:
    """Every item of a per-employee query (contacts pages with a cursor)."""
    if service != "contacts":
        return list(await crm.get(service, path))
    found: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = await crm.get(service, f"{path}?limit=100{cursor}")
        found += page["items"]
        if page["next_cursor"] is None:
            return found
        cursor = f"&after={page['next_cursor']}"


async def held_by(crm: Platform, employee: str) -> dict[str, int]:
    return {
        "accounts": len(await every(crm, "contacts", f"/employees/{employee}/accounts")),
        "complaints": len(
            (await crm.get("feedback", f"/owners/{employee}/complaints?status=open&limit=200"))[
                "items"
            ]
        ),
        "cases": len(await every(crm, "offboarding", f"/employees/{employee}/cases?limit=200")),
    }


async def given_an_employee_holding_everything(crm: Platform) -> None:
    now = datetime.now(UTC)
    for customer in CUSTOMERS:
        team = [MATE] if customer in WITH_TEAM else []
        await publish(
            crm, CustomerRegistered, customer, f"reg-{customer}",
            customer_id=customer, owner_id=LEAVER, account_team=team,
        )  # fmt: skip
    for n, customer in enumerate(COMPLAINED):
        await publish(
            crm, ComplaintRaised, customer, f"complaint-{n}",
            complaint_id=f"dep-c-{n}", customer_id=customer, owner_id=LEAVER,
            first_response_due_at=(now + timedelta(days=2)).isoformat(),
            resolution_due_at=(now + timedelta(days=5)).isoformat(), raised_at=now.isoformat(),
        )  # fmt: skip
    await publish(
        crm, CustomerRegistered, OTHERS_ACCOUNT, f"reg-{OTHERS_ACCOUNT}",
        customer_id=OTHERS_ACCOUNT, owner_id=OTHER_OWNER, account_team=[],
    )  # fmt: skip
    await publish(
        crm, ComplaintRaised, OTHERS_ACCOUNT, "complaint-other",
        complaint_id=SUPPORT_CASE, customer_id=OTHERS_ACCOUNT, owner_id=LEAVER,
        first_response_due_at=(now + timedelta(days=2)).isoformat(),
        resolution_due_at=(now + timedelta(days=5)).isoformat(), raised_at=now.isoformat(),
    )  # fmt: skip
    wanted = {"accounts": 200, "complaints": 51, "cases": 0}
    await eventually(lambda: held_by(crm, LEAVER), wanted.__eq__, timeout=120)
    for n, customer in enumerate(AT_RISK):
        await publish(
            crm, RiskDetected, customer, f"risk-{n}", customer_id=customer, risk_id=f"dep-r-{n}"
        )
    wanted["cases"] = 3
    await eventually(lambda: held_by(crm, LEAVER), wanted.__eq__, timeout=120)


async def deadlines(crm: Platform) -> dict[str, tuple[str, str]]:
    complaints = {}
    for n in range(len(COMPLAINED)):
        found = await crm.get("feedback", f"/complaints/dep-c-{n}")
        clocks = found["clocks"]
        complaints[found["complaint_id"]] = (
            clocks["first_response"]["due_at"],
            clocks["resolution"]["due_at"],
        )
    return complaints


async def snapshot(crm: Platform) -> dict[str, Any]:
    owners = {c["customer_id"]: c["owner_id"] for c in await every(crm, "contacts", "/customers")}
    return {
        "owners": owners,
        "departure": await crm.get("contacts", f"/departures/{LEAVER}"),
        "mate": await held_by(crm, MATE),
        "deadlines": await deadlines(crm),
    }


async def test_a_departed_employee_leaves_nothing_behind_and_redelivery_changes_nothing(
    crm: Platform,
) -> None:
    await given_an_employee_holding_everything(crm)
    before = await deadlines(crm)

    await publish(crm, EmployeeDeparted, LEAVER, "hr-leaver", employee_id=LEAVER, successor_id=None)

    empty = {"accounts": 0, "complaints": 0, "cases": 0}
    assert await eventually(lambda: held_by(crm, LEAVER), empty.__eq__, timeout=120) == empty
    handed = {"accounts": 200, "team_seats": 0, "feedback": 51, "offboarding": 3}
    record = await eventually(
        lambda: crm.get("contacts", f"/departures/{LEAVER}"),
        lambda r: r["handed_over"] == handed,
        timeout=120,
    )
    assert record["successor_id"] is None
    # complaints the rule handed over before contacts' account moves arrived follow them
    mate = {"accounts": 120, "complaints": 50, "cases": 3}
    await eventually(lambda: held_by(crm, MATE), mate.__eq__, timeout=120)
    state = await snapshot(crm)
    assert set(state["owners"]) >= set(CUSTOMERS)
    assert {state["owners"][c] for c in WITH_TEAM} == {MATE}
    assert {state["owners"][c] for c in set(CUSTOMERS) - WITH_TEAM} == {"account-pool"}
    assert state["mate"] == {"accounts": 120, "complaints": 50, "cases": 3}
    assert state["deadlines"] == before  # the SLA clocks kept running, unmoved
    # the leaver's complaint on a colleague's account went to that account's owner
    assert (await crm.get("feedback", f"/complaints/{SUPPORT_CASE}"))["owner_id"] == OTHER_OWNER

    replayed = await crm.replay_everything()
    for name, expected in replayed.items():
        await eventually(lambda n=name: crm.consumed(n, "duplicate"), lambda v, e=expected: v >= e)
    assert await snapshot(crm) == state
    assert await held_by(crm, LEAVER) == empty
    for name in SERVICES:
        assert await crm.consumed(name, "dead_lettered") == 0
    timeline = await crm.get("contacts", f"/customers/{COMPLAINED[0]}/timeline?limit=50")
    kinds = {entry["kind"] for entry in timeline["items"]}
    assert {"registered", "complaint-raised", "owner-changed", "complaint-reassigned"} <= kinds
