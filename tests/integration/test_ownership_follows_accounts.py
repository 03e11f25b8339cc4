"""Feedback and offboarding follow contacts' account moves on the real wire protocols:
the move redelivered (same id) changes nothing, an older move arriving late does not undo
a newer one, and a registration after the move does not bring the old owner back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events import decode
from crm_events.contacts import AccountOwnerChanged, CustomerRegistered
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintReassigned
from crm_events.offboarding import OffboardingCaseReassigned
from tests.integration.feedback_fixtures import (
    external_complaint,
    feedback_fixture,  # noqa: F401  (fixture "feedback")
    feedback_settings_fixture,  # noqa: F401  (fixture "feedback_settings")
)
from tests.integration.offboarding_fixtures import (
    CUSTOMER,
    offboarding_fixture,  # noqa: F401  (fixture "offboarding")
    offboarding_settings_fixture,  # noqa: F401  (fixture "offboarding_settings")
    risk_record,
    send_risk,
    wait_for_case,
)
from tests.support import AGENT, Kafka, consumed, eventually

pytestmark = pytest.mark.integration
T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def move(event_id: str, customer: str, previous: str, new: str, at: datetime) -> bytes:
    golden = load_golden(AccountOwnerChanged)
    data = {
        "customer_id": customer,
        "previous_owner_id": previous,
        "new_owner_id": new,
        "reason": "employee_departed",
    }
    update = {"id": event_id, "subject": customer, "time": at, "data": data}
    return golden.model_copy(update=update).to_bytes()


async def test_feedback_moves_the_open_complaints_once_and_keeps_the_newest_owner(
    feedback: Any, kafka: Kafka, ns: str
) -> None:
    await kafka.send(
        ns + "crm.feedback.complaint-raised",
        external_complaint("cc-1", "fc-1", owner_id="emp-a"),
        key=b"cus-ext",
    )
    await eventually(
        lambda: feedback.get("/complaints/fc-1", headers=AGENT), lambda r: r.status_code == 200
    )
    topic = ns + AccountOwnerChanged.topic()
    newer = move("mv-2", "cus-ext", "emp-a", "emp-b", T + timedelta(hours=1))
    older = move("mv-1", "cus-ext", "emp-z", "emp-a", T)
    for value in (newer, newer, older):
        await kafka.send(topic, value, key=b"cus-ext")

    await eventually(
        lambda: consumed(feedback, "duplicate", AccountOwnerChanged.topic()), lambda n: n >= 2
    )
    complaint = (await feedback.get("/complaints/fc-1", headers=AGENT)).json()
    assert complaint["owner_id"] == "emp-b"
    queue = await feedback.get("/owners/emp-a/complaints?status=open", headers=AGENT)
    assert queue.json()["items"] == []
    moved = await kafka.read(ns + ComplaintReassigned.topic(), expected=1)
    assert [decode(r.value).data["new_owner_id"] for r in moved] == ["emp-b"]


async def test_offboarding_cases_follow_the_account_in_any_arrival_order(
    offboarding: Any, kafka: Kafka, ns: str
) -> None:
    await send_risk(kafka, ns, risk_record())
    await wait_for_case(offboarding)
    moved = move("mv-3", CUSTOMER, "emp-a", "emp-b", T + timedelta(hours=1))
    await kafka.send(ns + AccountOwnerChanged.topic(), moved, key=CUSTOMER.encode())
    await kafka.send(ns + AccountOwnerChanged.topic(), moved, key=CUSTOMER.encode())
    registered = load_golden(CustomerRegistered).model_copy(update={"id": "reg-late"})
    await kafka.send(ns + CustomerRegistered.topic(), registered.to_bytes(), key=CUSTOMER.encode())

    async def held(employee: str) -> list[str]:
        found = await offboarding.get(f"/employees/{employee}/cases", headers=AGENT)
        return [case["customer_id"] for case in found.json()]

    assert await eventually(lambda: held("emp-b"), [CUSTOMER].__eq__) == [CUSTOMER]
    await eventually(
        lambda: consumed(offboarding, "applied", CustomerRegistered.topic()), lambda n: n >= 1
    )
    assert await held("emp-b") == [CUSTOMER]
    assert await held(load_golden(CustomerRegistered).data["owner_id"]) == []
    announced = await kafka.read(ns + OffboardingCaseReassigned.topic(), expected=1)
    assert len(announced) == 1
