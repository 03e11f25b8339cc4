"""A date outside the range is refused over HTTP (422 with a reason) and nothing is written.

Finding: ``occurred_at``/``effective_date`` of ``0587-04-10T19:42:06Z`` was stored, then
every read of that timeline, case or customer answered 500, and an exit with such a date
still ran. (The same dates over Kafka go to the DLQ: ``test_malformed_records.py`` sends
one in the first timestamp of every consumed event, ``occurred_at`` of ContactLogged and
``effective_date`` of ExitAgreed included.)
"""

from __future__ import annotations

from typing import Any

import pytest

from crm_offboarding.settings import OffboardingSettings
from tests.integration.feedback_fixtures import (
    feedback_fixture,  # noqa: F401  (fixture "feedback")
    feedback_settings_fixture,  # noqa: F401  (fixture "feedback_settings")
)
from tests.integration.offboarding_fixtures import (
    EXIT,
    ROUND,
    TERMINATE,
    offboarding_fixture,  # noqa: F401  (fixture "offboarding")
    offboarding_settings_fixture,  # noqa: F401  (fixture "offboarding_settings")
    risk_record,
    send_risk,
    wait_for_case,
)
from tests.support import MANAGER, SYSTEM, Kafka

pytestmark = pytest.mark.integration
ANCIENT = "0587-04-10T19:42:06Z"
REFUSED = "timestamp must lie between 1900-01-01T00:00:00Z and 2200-01-01T00:00:00Z"
CONTACT = {
    "channel": "phone",
    "direction": "inbound",
    "employee_id": "emp-1",
    "summary": "Asked about the invoice.",
    "occurred_at": "2026-03-01T09:00:00Z",
}


async def test_a_contact_dated_0587_is_refused_and_the_timeline_stays_readable(
    contacts: Any,
) -> None:
    body = {"customer_id": "cus-edge", "display_name": "Example", "owner_id": "emp-1"}
    assert (await contacts.post("/customers", json=body, headers=SYSTEM)).status_code == 201

    ancient = await contacts.post(
        "/customers/cus-edge/contacts", json={**CONTACT, "occurred_at": ANCIENT}, headers=SYSTEM
    )
    future = await contacts.post(
        "/customers/cus-edge/contacts",
        json={**CONTACT, "occurred_at": "2200-01-01T00:00:01Z"},
        headers=SYSTEM,
    )
    timeline = await contacts.get("/customers/cus-edge/timeline", headers=SYSTEM)
    customer = await contacts.get("/customers/cus-edge", headers=SYSTEM)

    assert ancient.status_code == 422
    assert REFUSED in str(ancient.json()["detail"])
    assert future.status_code == 422
    assert timeline.status_code == 200
    assert [entry["kind"] for entry in timeline.json()["items"]] == ["registered"]
    assert customer.status_code == 200


async def test_an_exit_effective_0587_is_refused_and_the_case_is_unchanged(
    offboarding: Any, kafka: Kafka, ns: str, offboarding_settings: OffboardingSettings
) -> None:
    await send_risk(kafka, ns, risk_record())
    [case] = await wait_for_case(offboarding)
    url = f"/cases/{case['case_id']}"
    assert (await offboarding.post(f"{url}/strategy", json=TERMINATE, headers=MANAGER)).is_success
    held = await offboarding.post(f"{url}/negotiation-rounds", json=ROUND, headers=MANAGER)
    before = (await offboarding.get(url, headers=MANAGER)).json()

    refusals = [
        await offboarding.post(f"{url}/exit", json={**EXIT, field: ANCIENT}, headers=MANAGER)
        for field in ("effective_date", "follow_up_until")
    ]
    after = await offboarding.get(url, headers=MANAGER)
    agreed = await offboarding.post(f"{url}/exit", json=EXIT, headers=MANAGER)

    assert held.status_code == 201, held.text
    assert [r.status_code for r in refusals] == [422, 422]
    assert all(REFUSED in str(r.json()["detail"]) for r in refusals)
    assert after.status_code == 200
    assert after.json() == before
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["state"] == "exit_agreed"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/complaints",
            {
                "customer_id": "cus-edge",
                "severity": "low",
                "category": "billing",
                "channel": "email",
                "description": "Invoice twice.",
                "owner_id": "emp-1",
                "raised_at": ANCIENT,
            },
        ),
        ("/surveys", {"customer_id": "cus-edge", "csat": 4, "answered_at": ANCIENT}),
    ],
)
async def test_feedback_refuses_dates_outside_the_range(
    feedback: Any, path: str, body: dict[str, Any]
) -> None:
    refused = await feedback.post(path, json=body, headers=SYSTEM)
    listed = await feedback.get("/customers/cus-edge/complaints", headers=SYSTEM)

    assert refused.status_code == 422
    assert REFUSED in str(refused.json()["detail"])
    assert listed.status_code == 200
    assert listed.json()["items"] == []  # nothing was written
