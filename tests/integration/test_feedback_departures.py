"""Feedback hands a departed employee's open complaints over on the real wire protocols:
on the account the leaver did not own too; the departure redelivered (same id, and the
same fact under another id) changes nothing; a complaint raised afterwards naming the
leaver is filed with the rule's owner."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from crm_events import decode
from crm_events.contacts import AccountOwnerChanged
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintRaised, ComplaintReassigned
from crm_events.inbound import EmployeeDeparted
from tests.integration.feedback_fixtures import (
    external_complaint,
    feedback_fixture,  # noqa: F401  (fixture "feedback")
    feedback_settings_fixture,  # noqa: F401  (fixture "feedback_settings")
)
from tests.support import AGENT, Kafka, consumed, eventually

pytestmark = pytest.mark.integration
T = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def departure(event_id: str) -> bytes:
    golden = load_golden(EmployeeDeparted)
    data = {"employee_id": "emp-leaver", "departed_at": T, "successor_id": "emp-succ"}
    update = {"id": event_id, "subject": "emp-leaver", "time": T, "data": data}
    return golden.model_copy(update=update).to_bytes()


def account_of(customer: str, owner: str) -> bytes:
    golden = load_golden(AccountOwnerChanged)
    data = {
        "customer_id": customer,
        "previous_owner_id": "emp-before",
        "new_owner_id": owner,
        "reason": "reassigned",
    }
    update = {"id": f"mv-{customer}", "subject": customer, "time": T, "data": data}
    return golden.model_copy(update=update).to_bytes()


async def complaint(feedback: Any, complaint_id: str) -> dict[str, Any]:
    found = await eventually(
        lambda: feedback.get(f"/complaints/{complaint_id}", headers=AGENT),
        lambda r: r.status_code == 200,
    )
    body: dict[str, Any] = found.json()
    return body


async def test_every_open_complaint_of_the_leaver_moves_once(
    feedback: Any, kafka: Kafka, ns: str
) -> None:
    raised = ns + ComplaintRaised.topic()
    await kafka.send(ns + AccountOwnerChanged.topic(), account_of("cus-y", "emp-acc"), key=b"cus-y")
    await eventually(
        lambda: consumed(feedback, "applied", AccountOwnerChanged.topic()), lambda n: n >= 1
    )
    await kafka.send(raised, external_complaint("cc-1", "fc-a", owner_id="emp-leaver"))
    other = external_complaint("cc-2", "fc-b", owner_id="emp-leaver", customer_id="cus-y")
    await kafka.send(raised, other, key=b"cus-y")
    before = {i: (await complaint(feedback, i))["clocks"] for i in ("fc-a", "fc-b")}

    topic = ns + EmployeeDeparted.topic()
    for value in (departure("hr-1"), departure("hr-1"), departure("hr-1-again")):
        await kafka.send(topic, value, key=b"emp-leaver")
    await eventually(
        lambda: consumed(feedback, "duplicate", EmployeeDeparted.topic()), lambda n: n >= 2
    )

    after = {i: await complaint(feedback, i) for i in ("fc-a", "fc-b")}
    assert after["fc-a"]["owner_id"] == "emp-succ"  # account unknown here: the successor
    assert after["fc-b"]["owner_id"] == "emp-acc"  # the account's owner
    assert {i: c["clocks"] for i, c in after.items()} == before
    queue = await feedback.get("/owners/emp-leaver/complaints?status=open", headers=AGENT)
    assert queue.json()["items"] == []
    moved = await kafka.read(ns + ComplaintReassigned.topic(), expected=2)
    assert sorted(
        (decode(r.value).data["complaint_id"], decode(r.value).data["reason"]) for r in moved
    ) == [
        ("fc-a", "employee_departed"),
        ("fc-b", "employee_departed"),
    ]

    await kafka.send(raised, external_complaint("cc-3", "fc-c", owner_id="emp-leaver"))
    late = await complaint(feedback, "fc-c")
    assert (late["owner_id"], late["named_owner_id"]) == ("emp-succ", "emp-leaver")
    queue = await feedback.get("/owners/emp-leaver/complaints?status=open", headers=AGENT)
    assert queue.json()["items"] == []
    moved = await kafka.read(ns + ComplaintReassigned.topic(), expected=3)
    assert len(moved) == 3
