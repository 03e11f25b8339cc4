"""Complaints follow the account: an AccountOwnerChanged moves the previous owner's open
complaints of that customer, clocks untouched; nothing else moves (feedback's real wiring
on the in-memory store)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_events.common import Channel, Severity
from crm_events.contacts import AccountOwnerChanged
from crm_events.feedback import ComplaintRaised
from tests.unit.feedback_plugin import FEEDBACK_NOW as NOW
from tests.unit.feedback_plugin import Feedback

pytestmark = pytest.mark.unit
HOUR = timedelta(hours=1)


async def raise_complaint(feedback: Feedback, complaint_id: str, owner: str, customer: str) -> None:
    data = ComplaintRaised(
        complaint_id=complaint_id,
        customer_id=customer,
        severity=Severity.HIGH,
        category="delivery",
        channel=Channel.PHONE,
        description="parcel lost",
        owner_id=owner,
        first_response_due_at=NOW + 2 * HOUR,
        resolution_due_at=NOW + 10 * HOUR,
    )
    assert await feedback.deliver(data.to_event(source="/cc", time=NOW)) == "applied"


def moved(customer: str = "cus-1", reason: str = "employee_departed") -> AccountOwnerChanged:
    return AccountOwnerChanged(
        customer_id=customer,
        previous_owner_id="emp-gone",
        new_owner_id="emp-next",
        reason=reason,  # type: ignore[arg-type]
    )


async def test_the_previous_owners_open_complaints_move_with_their_clocks(
    feedback_unit: Feedback,
) -> None:
    await raise_complaint(feedback_unit, "c-1", "emp-gone", "cus-1")
    await raise_complaint(feedback_unit, "c-2", "emp-agent", "cus-1")  # someone else's
    await raise_complaint(feedback_unit, "c-3", "emp-gone", "cus-2")  # another account
    before = await feedback_unit.stored("c-1")

    event = moved().to_event(source="/crm/contacts", time=NOW + HOUR)
    assert await feedback_unit.deliver(event) == "applied"
    assert await feedback_unit.deliver(event) == "duplicate"

    after = await feedback_unit.stored("c-1")
    assert before is not None
    assert after is not None
    assert after.owner_id == "emp-next"
    assert after.clocks == before.clocks
    assert after.next_due_at == before.next_due_at
    assert [c.owner_id for c in [await feedback_unit.stored(i) for i in ("c-2", "c-3")] if c] == [
        "emp-agent",
        "emp-gone",
    ]
    held = feedback_unit.complaints.complaints_of_owner
    gone = await held("emp-gone", status="open", limit=10)
    assert [c.complaint_id for c in gone] == ["c-3"]
    assert [c.complaint_id for c in await held("emp-next", status="open", limit=10)] == ["c-1"]
    reassigned = [e for e in feedback_unit.published() if "complaint-reassigned" in e.type]
    assert [(e.data["complaint_id"], e.data["reason"]) for e in reassigned] == [
        ("c-1", "employee_departed")
    ]


async def test_a_moved_complaint_still_breaches_on_time(feedback_unit: Feedback) -> None:
    await raise_complaint(feedback_unit, "c-1", "emp-gone", "cus-1")
    event = moved().to_event(source="/crm/contacts", time=NOW + HOUR)
    await feedback_unit.deliver(event)
    feedback_unit.clock.advance(3 * HOUR)

    await feedback_unit.sweep()

    breaches = [e for e in feedback_unit.published() if "sla-breached" in e.type]
    assert [(e.data["complaint_id"], e.data["owner_id"]) for e in breaches] == [("c-1", "emp-next")]


async def test_an_account_move_without_open_complaints_is_only_remembered(
    feedback_unit: Feedback,
) -> None:
    event = moved("cus-9").to_event(source="/crm/contacts", time=NOW)
    assert await feedback_unit.deliver(event) == "applied"
    assert await feedback_unit.deliver(event) == "duplicate"
    assert feedback_unit.published() == []
    assert feedback_unit.backend.docs("accounts")["cus-9"]["owner_id"] == "emp-next"
