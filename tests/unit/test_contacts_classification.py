"""Classification, segments and follow-up visits from facts, through contacts' real wiring
on the in-memory store: every change published with the rule that fired."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_contacts.domain import DirectoryFilter
from crm_events.common import Channel, Direction
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.inbound import PurchaseRecorded, PurchaseReturned
from crm_events.loyalty import TierChanged
from tests.unit.contacts_plugin import CONTACTS_NOW as NOW
from tests.unit.contacts_plugin import Contacts

pytestmark = pytest.mark.unit


async def registered(contacts: Contacts, customer_id: str = "cus-1", **extra: object) -> None:
    data = CustomerRegistered(
        customer_id=customer_id, display_name="Example Customer", owner_id="emp-1", **extra
    )
    await contacts.service.register(data, f"reg-{customer_id}")


async def buy(contacts: Contacts, order: str, customer_id: str = "cus-1") -> str:
    data = PurchaseRecorded(
        order_id=order,
        customer_id=customer_id,
        amount_minor=2500,
        currency="EUR",
        purchased_at=contacts.clock.now(),
    )
    return await contacts.deliver(contacts.external(data))


async def contact(contacts: Contacts, channel: Channel, at_offset: timedelta) -> str:
    data = ContactLogged(
        customer_id="cus-1",
        channel=channel,
        direction=Direction.OUTBOUND,
        employee_id="emp-1",
        summary="regular visit",
        occurred_at=contacts.clock.now() + at_offset,
    )
    return await contacts.deliver(contacts.external(data))


def classified(contacts: Contacts) -> list[tuple[str | None, str, str]]:
    return [
        (e.get("previous"), e["classification"], e["reason"])
        for e in contacts.published_of("customer-classified")
    ]


async def test_first_purchase_makes_new_and_schedules_the_first_follow_up(
    contacts: Contacts,
) -> None:
    await registered(contacts)
    assert await buy(contacts, "ord-1") == "applied"

    customer = await contacts.service.customer("cus-1")
    assert classified(contacts) == [("potential", "new", "new: first purchase")]
    assert [(c.previous, c.classification) for c in customer.history] == [("potential", "new")]
    assert customer.follow_up is not None
    assert customer.follow_up.due_at == NOW + timedelta(days=14)
    scheduled = contacts.published_of("follow-up-scheduled")
    assert [(s["owner_id"], s["due_at"][:10]) for s in scheduled] == [("emp-1", "2026-03-15")]
    assert {"purchase", "classified", "follow-up-scheduled"} <= set(contacts.kinds())


async def test_three_purchases_within_the_window_make_loyal(contacts: Contacts) -> None:
    await registered(contacts)
    for n in range(3):
        assert await buy(contacts, f"ord-{n}") == "applied"
        contacts.clock.advance(timedelta(days=20))
    assert classified(contacts)[-1] == ("new", "loyal", "loyal: 3+ purchases within 365 days")
    assert "frequency:regular" in (await contacts.service.customer("cus-1")).segments


async def test_a_gold_tier_makes_a_buyer_loyal(contacts: Contacts) -> None:
    await registered(contacts)
    await buy(contacts, "ord-1")
    tier = TierChanged(
        customer_id="cus-1", new_tier="gold", qualifying_points=5000, reason="qualified"
    )
    assert await contacts.deliver(contacts.external(tier)) == "applied"
    assert classified(contacts)[-1] == ("new", "loyal", "loyal: tier gold")
    assert "tier:gold" in (await contacts.service.customer("cus-1")).segments


async def test_inactivity_is_a_durable_due_date_that_churns_and_asks_for_a_win_back(
    contacts: Contacts,
) -> None:
    await registered(contacts)
    await buy(contacts, "ord-1")
    await contact(contacts, Channel.VISIT, timedelta(days=1))  # satisfies the follow-up
    contacts.clock.advance(timedelta(days=182))

    await contacts.sweep()

    customer = await contacts.service.customer("cus-1")
    assert customer.classification == "churned"
    assert classified(contacts)[-1][2] == "inactive: no purchase or contact for 180 days"
    overdue = contacts.published_of("follow-up-overdue")
    assert len(overdue) == 1  # the visit-scheduled follow-up passed unattended, once
    await contacts.sweep()
    assert len(contacts.published_of("follow-up-overdue")) == 1


async def test_a_churned_customer_who_buys_again_is_won_back(contacts: Contacts) -> None:
    await registered(contacts)
    await buy(contacts, "ord-1")
    contacts.clock.advance(timedelta(days=200))
    await contacts.sweep()
    contacts.clock.advance(timedelta(days=1))

    await buy(contacts, "ord-2")

    assert classified(contacts)[-1] == ("churned", "new", "win-back, new: first purchase")


async def test_a_qualifying_contact_satisfies_the_follow_up_and_schedules_the_next(
    contacts: Contacts,
) -> None:
    await registered(contacts)
    await buy(contacts, "ord-1")
    first = (await contacts.service.customer("cus-1")).follow_up
    assert first is not None

    await contact(contacts, Channel.EMAIL, timedelta(hours=1))  # e-mail does not qualify
    assert (await contacts.service.customer("cus-1")).follow_up == first
    contacts.clock.advance(timedelta(days=3))
    await contact(contacts, Channel.VISIT, timedelta(0))

    following = (await contacts.service.customer("cus-1")).follow_up
    assert following is not None
    assert following.follow_up_id != first.follow_up_id
    assert following.due_at == contacts.clock.now() + timedelta(days=14)
    assert "follow-up-done" in contacts.kinds()
    [done] = contacts.published_of("follow-up-completed")
    assert done["follow_up_id"] == first.follow_up_id
    assert done["on_time"] is True
    assert done["employee_id"] == "emp-1"


async def test_a_missed_follow_up_is_overdue_once_and_lands_in_the_owner_queue(
    contacts: Contacts,
) -> None:
    await registered(contacts)
    await buy(contacts, "ord-1")
    contacts.clock.advance(timedelta(days=15))

    await contacts.sweep()
    await contacts.sweep()

    assert len(contacts.published_of("follow-up-overdue")) == 1
    queue = await contacts.service.follow_ups("emp-1", "overdue", before=None, limit=10)
    assert [c.customer_id for c in queue] == ["cus-1"]
    assert await contacts.service.follow_ups("emp-1", "due", before=None, limit=10) == []


async def test_a_return_before_any_purchase_waits_for_the_purchase(contacts: Contacts) -> None:
    await registered(contacts)
    returned = PurchaseReturned(
        order_id="ord-1",
        return_id="ret-1",
        customer_id="cus-1",
        amount_minor=2500,
        currency="EUR",
        returned_at=NOW,
    )
    assert await contacts.deliver(contacts.external(returned)) == "parked"
    await buy(contacts, "ord-1")
    assert await contacts.deliver(contacts.external(returned)) == "applied"
    customer = await contacts.service.customer("cus-1")
    assert customer.purchases["ord-1"].returned_minor == 2500
    assert "frequency:none" in customer.segments


async def test_the_directory_filters_by_class_segment_tag_and_name(contacts: Contacts) -> None:
    await registered(contacts, "cus-1")
    await registered(contacts, "cus-2", kind="organisation")
    await buy(contacts, "ord-1", customer_id="cus-2")
    await contacts.service.set_tags("cus-2", ["key-account"], "tag-1")

    async def ids(**wanted: object) -> list[str]:
        found = await contacts.service.directory(
            DirectoryFilter(**wanted),  # type: ignore[arg-type]
            before=None,
            limit=50,
        )
        return [c.customer_id for c in found]

    assert await ids(classification="new") == ["cus-2"]
    assert await ids(segment="size:organisation") == ["cus-2"]
    assert await ids(tag="key-account") == ["cus-2"]
    assert await ids(name_prefix="EXAMPLE") == ["cus-2", "cus-1"]
    assert await ids(name_prefix="other") == []
    assert await ids(owner_id="emp-1", registered_from=NOW + timedelta(days=1)) == []


async def test_an_older_tier_change_arriving_late_does_not_undo_the_newer(
    contacts: Contacts,
) -> None:
    await registered(contacts)
    older = TierChanged(customer_id="cus-1", new_tier="silver", qualifying_points=1, reason="x")
    newer = TierChanged(customer_id="cus-1", new_tier="gold", qualifying_points=9, reason="y")
    late = older.to_event(source="/loyalty", time=NOW - timedelta(days=2))
    assert await contacts.deliver(newer.to_event(source="/loyalty", time=NOW)) == "applied"
    assert await contacts.deliver(late) == "duplicate"
    assert (await contacts.service.customer("cus-1")).tier == "gold"
