"""Finding 8 in milliseconds: a customer's facts consumed in reverse dependency order end
as the in-order run — the real loyalty service on its in-memory repository, behind the
runtime's consumer and an in-memory parking lot."""

from __future__ import annotations

from typing import Any

import pytest

from crm_events import EventData
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.examples import load_golden
from crm_events.inbound import PurchaseRecorded
from crm_events.loyalty import PointsAwarded
from tests.unit.consumer_rig import FakeRecord, Rig, rig
from tests.unit.loyalty_plugin import Loyalty

pytestmark = pytest.mark.unit
# 400, 400, 400 base points reach silver (1,000 qualifying) at the third purchase; from
# then on purchases earn 125 %. Applied in another order, the multiplier moves.
AMOUNTS = [40_000, 40_000, 40_000, 80_000, 30_000]


def wire(model: type[EventData], event_id: str, offset: int, **data: Any) -> FakeRecord:
    golden = load_golden(model)
    payload = {**golden.data, "customer_id": "cus-1", **data}
    event = golden.model_copy(update={"id": event_id, "subject": "cus-1", "data": payload})
    return FakeRecord(model.topic(), 0, offset, b"cus-1", event.to_bytes())


def facts() -> tuple[FakeRecord, list[FakeRecord]]:
    """The registration, and the purchases with a contact logged between them."""
    purchases = [
        wire(PurchaseRecorded, f"buy-{n}", n, order_id=f"ord-{n}", amount_minor=amount)
        for n, amount in enumerate(AMOUNTS)
    ]
    contact = wire(ContactLogged, "contact-1", 0, summary="call")
    return wire(CustomerRegistered, "reg-1", 0), [*purchases[:2], contact, *purchases[2:]]


def loyalty_rig(loyalty: Loyalty) -> Rig:
    return rig(
        (CustomerRegistered, loyalty.points.on_customer_registered),
        (PurchaseRecorded, loyalty.points.on_purchase_recorded),
        (ContactLogged, loyalty.health.on_contact_logged),
    )


async def test_purchases_before_the_registration_earn_as_if_consumed_in_order() -> None:
    registration, later = facts()
    in_order, reversed_ = Loyalty(), Loyalty()
    await loyalty_rig(in_order).consumer.process_batch([registration, *later])

    subject = loyalty_rig(reversed_)
    await subject.consumer.process_batch(later[:3])
    await subject.consumer.process_batch(later[3:])
    await subject.consumer.process_batch([registration])

    expected = await in_order.account()
    assert (expected.tier, expected.balance) == ("silver", 400 * 3 + 1000 + 375)
    assert await reversed_.account() == expected
    assert reversed_.entries == in_order.entries
    awarded = [
        (e["source_event_id"], e["multiplier_percent"]) for e in reversed_.published(PointsAwarded)
    ]
    assert awarded == [(f"buy-{n}", 100 if n < 3 else 125) for n in range(5)]
    assert subject.parking.docs == {}
    assert subject.outcomes("unparked_applied") == 6
