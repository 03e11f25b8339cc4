"""Contacts through its real wiring on the in-memory store: the lifecycle in milliseconds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crm_contacts import translate
from crm_contacts.domain import Customer
from crm_events.common import Channel, Direction
from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_events.offboarding import CustomerRetained, ExitAgreed
from crm_runtime.errors import Conflict, DomainError, NotFound
from tests.unit.contacts_plugin import CONTACTS_NOW as NOW
from tests.unit.contacts_plugin import Contacts

pytestmark = pytest.mark.unit


def registration(customer_id: str = "cus-1", owner: str = "emp-1") -> CustomerRegistered:
    return CustomerRegistered(
        customer_id=customer_id,
        display_name="Example Customer",
        email="someone@example.com",
        owner_id=owner,
        account_team=["emp-2", owner],
    )


def contact(customer_id: str = "cus-1", minutes: int = 0) -> ContactLogged:
    return ContactLogged(
        customer_id=customer_id,
        channel=Channel.PHONE,
        direction=Direction.INBOUND,
        employee_id="emp-9",
        summary="asked about delivery",
        occurred_at=NOW - timedelta(hours=1) + timedelta(minutes=minutes),
    )


def exit_agreed(customer_id: str = "cus-1", days: int = 30) -> ExitAgreed:
    return ExitAgreed(
        case_id="case-1",
        customer_id=customer_id,
        effective_date=NOW + timedelta(days=days),
        compensation_minor=5000,
        currency="EUR",
        terms="settle and part on good terms",
        agreed_by="mgr-1",
    )


async def test_register_stores_customer_and_publishes_registration(contacts: Contacts) -> None:
    customer = await contacts.service.register(registration(), "evt-1")

    assert customer.classification == "potential"
    assert customer.account_team == ["emp-2"]  # the owner is not also a team member
    assert [(e["type"], e["id"]) for e in contacts.published()] == [
        ("crm.contacts.customer-registered.v1", "evt-1")
    ]
    assert contacts.kinds() == ["registered"]


async def test_register_twice_with_same_event_is_harmless(contacts: Contacts) -> None:
    await contacts.service.register(registration(), "evt-1")
    await contacts.service.register(registration(), "evt-1")

    assert len(contacts.backend.docs("customers")) == 1
    assert len(contacts.published()) == 1


async def test_register_existing_customer_by_other_event_conflicts(contacts: Contacts) -> None:
    await contacts.service.register(registration(), "evt-1")
    with pytest.raises(Conflict):
        await contacts.service.register(registration(), "evt-2")


async def test_profile_update_changes_only_given_fields(contacts: Contacts) -> None:
    await contacts.service.register(registration(), "evt-1")
    update = CustomerProfileUpdated(customer_id="cus-1", phone="+44 20 0000 0000")

    customer = await contacts.service.update_profile(update, "evt-2")
    again = await contacts.service.update_profile(update, "evt-2")

    assert customer.phone == "+44 20 0000 0000"
    assert customer.email == "someone@example.com"
    assert again.version == customer.version == 2
    entry = contacts.backend.docs("timeline")["evt-2"]
    assert entry["details"] == {"fields": ["phone"], "updated_by": None}


async def test_update_unknown_customer_is_not_found(contacts: Contacts) -> None:
    with pytest.raises(NotFound):
        await contacts.service.update_profile(CustomerProfileUpdated(customer_id="x"), "evt-1")


async def test_log_contact_adds_timeline_entry_and_publishes(contacts: Contacts) -> None:
    await contacts.service.register(registration(), "evt-1")

    entry = await contacts.service.log_contact(contact(), "evt-2")

    assert entry.kind == "contact"
    assert entry.details["channel"] == "phone"
    assert contacts.published()[-1]["type"] == "crm.contacts.contact-logged.v1"


async def test_contact_in_the_future_is_rejected(contacts: Contacts) -> None:
    await contacts.service.register(registration(), "evt-1")
    future = contact().model_copy(update={"occurred_at": NOW + timedelta(hours=1)})
    with pytest.raises(DomainError, match="future"):
        await contacts.service.log_contact(future, "evt-2")


async def test_consumed_contact_for_unknown_customer_waits_for_registration(
    contacts: Contacts,
) -> None:
    assert await contacts.deliver(contacts.external(contact("ghost"))) == "parked"


async def test_consumed_contact_applies_once_and_publishes_nothing(contacts: Contacts) -> None:
    await contacts.deliver(contacts.external(registration()))
    event = contacts.external(contact())

    assert await contacts.deliver(event) == "applied"
    assert await contacts.deliver(event) == "duplicate"
    assert contacts.published() == []


async def test_timeline_is_newest_first_and_paginates(contacts: Contacts) -> None:
    await contacts.service.register(registration(), "evt-0")
    for minute in range(5):
        await contacts.service.log_contact(contact(minutes=minute), f"evt-c{minute}")

    first = await contacts.service.timeline("cus-1", limit=3, before=None)
    last = first[-1]
    rest = await contacts.service.timeline(
        "cus-1", limit=3, before=(last.occurred_at, last.entry_id)
    )

    assert [e.entry_id for e in first] == ["evt-0", "evt-c4", "evt-c3"]
    assert [e.entry_id for e in rest] == ["evt-c2", "evt-c1", "evt-c0"]


def test_customer_register_keeps_owner_out_of_team(contacts: Contacts) -> None:
    data = registration(owner="emp-1")
    customer = Customer.register(translate.registration(data, contacts.external(data)))
    assert customer.owner_id == "emp-1"
    assert "emp-1" not in customer.account_team


async def test_exit_agreed_sets_the_exit_timer_and_the_sweep_makes_a_former_customer(
    contacts: Contacts,
) -> None:
    await contacts.service.register(registration(), "evt-1")
    data = exit_agreed()

    assert await contacts.deliver(contacts.external(data)) == "applied"
    assert await contacts.deliver(contacts.external(data)) == "duplicate"  # same case
    exiting = await contacts.service.customer("cus-1")
    due = contacts.backend.docs("customers")["cus-1"]["next_due_at"]
    await contacts.sweep()  # not due yet
    contacts.clock.advance(timedelta(days=30))
    await contacts.sweep()
    await contacts.sweep()
    former = await contacts.service.customer("cus-1")

    assert exiting.lifecycle == "exiting"
    assert due.startswith((NOW + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
    assert former.lifecycle == "former"
    assert former.classification == "churned"
    assert "next_due_at" not in contacts.backend.docs("customers")["cus-1"]
    classified = [e for e in contacts.published() if e["type"].endswith("customer-classified.v1")]
    assert [e["data"]["classification"] for e in classified] == ["churned"]
    assert contacts.kinds().count("exit-agreed") == 1  # the entry is keyed by the case
    assert contacts.kinds().count("relationship-ended") == 1


async def test_customer_retained_clears_the_exit_and_its_timer(contacts: Contacts) -> None:
    await contacts.service.register(registration(), "evt-1")
    await contacts.deliver(contacts.external(exit_agreed()))
    retained = CustomerRetained(
        case_id="case-1", customer_id="cus-1", offer_accepted=True, retained_by="mgr-1"
    )

    assert await contacts.deliver(contacts.external(retained)) == "applied"

    customer = await contacts.service.customer("cus-1")
    assert customer.lifecycle == "active"
    assert customer.exit_case_id is None
    assert "next_due_at" not in contacts.backend.docs("customers")["cus-1"]


async def test_exit_for_unknown_customer_waits(contacts: Contacts) -> None:
    assert await contacts.deliver(contacts.external(exit_agreed("ghost"))) == "parked"


async def test_a_date_of_birth_is_stored_shown_and_published(contacts: Contacts) -> None:
    born = date(1990, 2, 28)
    data = registration().model_copy(update={"date_of_birth": born})

    customer = await contacts.service.register(data, "evt-1")
    update = CustomerProfileUpdated(customer_id="cus-1", date_of_birth=date(1991, 3, 1))
    changed = await contacts.service.update_profile(update, "evt-2")

    assert customer.date_of_birth == born
    assert changed.date_of_birth == date(1991, 3, 1)
    assert contacts.backend.docs("customers")["cus-1"]["date_of_birth"] == "1991-03-01"
    registered, updated = contacts.published()
    assert registered["data"]["date_of_birth"] == "1990-02-28"
    assert updated["data"]["date_of_birth"] == "1991-03-01"
    entry = contacts.backend.docs("timeline")["evt-2"]
    assert entry["details"] == {"fields": ["date_of_birth"], "updated_by": None}  # no value


async def test_a_profile_update_without_a_date_of_birth_keeps_it(contacts: Contacts) -> None:
    data = registration().model_copy(update={"date_of_birth": date(1990, 2, 28)})
    await contacts.service.register(data, "evt-1")

    update = CustomerProfileUpdated(customer_id="cus-1", phone="+44 20 0000 0000")
    customer = await contacts.service.update_profile(update, "evt-2")

    assert customer.date_of_birth == date(1990, 2, 28)


@pytest.mark.parametrize(
    ("born", "reason"),
    [(NOW.date() + timedelta(days=1), "future"), (date(1899, 12, 31), "1900")],
)
async def test_an_impossible_date_of_birth_is_refused_before_anything_is_written(
    contacts: Contacts, born: date, reason: str
) -> None:
    with pytest.raises(DomainError, match=reason):
        await contacts.service.register(
            registration().model_copy(update={"date_of_birth": born}), "evt-1"
        )
    await contacts.service.register(registration(), "evt-2")
    update = CustomerProfileUpdated.model_construct(customer_id="cus-1", date_of_birth=born)
    with pytest.raises(DomainError, match=reason):
        await contacts.service.update_profile(update, "evt-3")

    assert (await contacts.service.customer("cus-1")).date_of_birth is None
    assert len(contacts.published()) == 1


async def test_a_date_of_birth_of_today_is_accepted(contacts: Contacts) -> None:
    data = registration().model_copy(update={"date_of_birth": NOW.date()})

    assert (await contacts.service.register(data, "evt-1")).date_of_birth == NOW.date()
