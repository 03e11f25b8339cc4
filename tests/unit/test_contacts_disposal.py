"""Contacts at the end of a relationship (issue 9): ``RelationshipEnded`` makes a former
customer, the erasure request anonymises the record and the timeline's free text, the
attestation is published once, and the tombstone keeps replays from restoring anything."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from crm_contacts.domain import DirectoryFilter
from crm_events.contacts import CustomerProfileUpdated
from crm_events.offboarding import (
    PersonalDataErasureRequested,
    PersonalDataExportRequested,
    RelationshipEnded,
)
from crm_runtime.timestamps import stamp
from tests.unit.contacts_plugin import CONTACTS_NOW as NOW
from tests.unit.contacts_plugin import Contacts
from tests.unit.test_contacts_classification import buy
from tests.unit.test_contacts_service import contact, exit_agreed, registration

pytestmark = pytest.mark.unit


def ended(customer_id: str = "cus-1") -> RelationshipEnded:
    return RelationshipEnded(case_id="case-1", customer_id=customer_id, ended_at=NOW)


def erasure(customer_id: str = "cus-1") -> PersonalDataErasureRequested:
    return PersonalDataErasureRequested(
        case_id="case-1",
        customer_id=customer_id,
        requested_at=NOW,
        services=["contacts", "offboarding"],
        attest_by=NOW + timedelta(days=7),
    )


async def test_relationship_ended_makes_a_former_customer_once(contacts: Contacts) -> None:
    await contacts.deliver(contacts.external(registration()))
    await contacts.deliver(contacts.external(exit_agreed()))

    assert await contacts.deliver(contacts.external(ended())) == "applied"
    contacts.clock.advance(timedelta(days=31))
    await contacts.sweep()  # the exit timer finds a former customer: nothing more

    customer = await contacts.service.customer("cus-1")
    assert (customer.lifecycle, customer.classification) == ("former", "churned")
    classified = [e for e in contacts.published() if e["type"].endswith("customer-classified.v1")]
    assert len(classified) == 1
    assert contacts.kinds().count("relationship-ended") == 1


async def test_relationship_ended_without_a_known_exit_still_ends_it(contacts: Contacts) -> None:
    await contacts.deliver(contacts.external(registration()))

    await contacts.deliver(contacts.external(ended()))

    assert (await contacts.service.customer("cus-1")).lifecycle == "former"


async def test_erasure_anonymises_the_customer_and_the_timeline_and_attests_once(
    contacts: Contacts,
) -> None:
    await contacts.deliver(contacts.external(registration()))
    for minutes in range(3):
        await contacts.deliver(contacts.external(contact(minutes=minutes)))

    request = contacts.external(erasure())
    assert await contacts.deliver(request) == "applied"
    await contacts.sweep()
    await contacts.sweep()

    customer = await contacts.service.customer("cus-1")
    assert (customer.display_name, customer.email, customer.phone) == ("[erased]", None, None)
    assert customer.owner_id == "emp-1"  # not personal data of the customer: kept
    summaries = [
        d["details"]["summary"]
        for d in contacts.backend.docs("timeline").values()
        if d["kind"] == "contact"
    ]
    assert summaries == ["[erased]"] * 3
    attestations = [e for e in contacts.published() if e["type"].endswith("data-erased.v1")]
    assert len(attestations) == 1
    assert attestations[0]["data"]["service"] == "contacts"
    assert attestations[0]["data"]["records"] == 4
    assert await contacts.deliver(request) == "duplicate"


async def test_replayed_and_late_facts_bring_no_personal_data_back(contacts: Contacts) -> None:
    registered = contacts.external(registration())
    logged = contacts.external(contact())
    await contacts.deliver(registered)
    await contacts.deliver(logged)
    await contacts.deliver(contacts.external(erasure()))
    await contacts.sweep()

    renamed = CustomerProfileUpdated(customer_id="cus-1", display_name="Someone", email="a@b.c")
    for event in (
        registered,
        logged,
        contacts.external(renamed),
        contacts.external(contact(minutes=9)),
    ):
        await contacts.deliver(event)

    customer = await contacts.service.customer("cus-1")
    assert (customer.display_name, customer.email) == ("[erased]", None)
    summaries = {
        d["details"]["summary"]
        for d in contacts.backend.docs("timeline").values()
        if d["kind"] == "contact"
    }
    assert summaries == {"[erased]"}


async def test_the_date_of_birth_is_erased_and_stays_erased(contacts: Contacts) -> None:
    born = registration().model_copy(update={"date_of_birth": date(1990, 2, 28)})
    registered = contacts.external(born)
    await contacts.deliver(registered)
    await contacts.deliver(contacts.external(erasure()))
    await contacts.sweep()

    redated = CustomerProfileUpdated(customer_id="cus-1", date_of_birth=date(1985, 5, 5))
    for event in (registered, contacts.external(redated)):
        await contacts.deliver(event)

    assert (await contacts.service.customer("cus-1")).date_of_birth is None
    assert contacts.backend.docs("customers")["cus-1"]["date_of_birth"] is None
    (attestation,) = [e for e in contacts.published() if e["type"].endswith("data-erased.v1")]
    assert "date_of_birth" in attestation["data"]["erased_fields"]


async def test_an_erasure_for_an_unknown_customer_waits(contacts: Contacts) -> None:
    assert await contacts.deliver(contacts.external(erasure("cus-404"))) == "parked"


async def test_an_export_request_publishes_the_record_and_timeline_once(
    contacts: Contacts,
) -> None:
    born = registration().model_copy(update={"date_of_birth": date(1990, 2, 28)})
    await contacts.deliver(contacts.external(born))
    await contacts.deliver(contacts.external(contact()))
    request = PersonalDataExportRequested(
        export_id="exp-1",
        case_id="case-1",
        customer_id="cus-1",
        services=["contacts"],
        requested_by="emp-mgr",
    )
    event = contacts.external(request)

    assert await contacts.deliver(event) == "applied"
    assert await contacts.deliver(event) == "duplicate"

    (exported,) = [e for e in contacts.published() if e["type"].endswith("data-exported.v1")]
    section = json.loads(exported["data"]["section"])
    assert section["customer"]["email"] == "someone@example.com"
    assert section["customer"]["date_of_birth"] == "1990-02-28"
    assert [e["kind"] for e in section["timeline"]] == ["registered", "contact"]  # newest first


async def test_an_erased_customer_is_not_found_by_its_former_name(contacts: Contacts) -> None:
    """Issue 8's directory searches a name key derived from the name: erasure drops it."""
    await contacts.deliver(contacts.external(registration("cus-1")))
    await contacts.deliver(contacts.external(registration("cus-2")))

    await contacts.deliver(contacts.external(erasure("cus-1")))
    await contacts.sweep()

    by_name = DirectoryFilter(name_prefix="example")
    found = await contacts.service.directory(by_name, before=None, limit=50)
    assert [c.customer_id for c in found] == ["cus-2"]
    by_owner = DirectoryFilter(owner_id="emp-1")
    found = await contacts.service.directory(by_owner, before=None, limit=50)
    assert sorted(c.customer_id for c in found) == ["cus-1", "cus-2"]  # kept, just nameless
    assert contacts.backend.docs("customers")["cus-1"]["name_key"] is None


async def test_the_erasure_is_finished_first_and_the_follow_up_stays_due(
    contacts: Contacts,
) -> None:
    """One due date per customer: the erasure to finish comes first, then the open
    follow-up's due date is the customer's timer again."""
    await contacts.deliver(contacts.external(registration()))
    await buy(contacts, "ord-1")
    follow_up = (await contacts.service.customer("cus-1")).follow_up
    assert follow_up is not None

    await contacts.deliver(contacts.external(erasure()))
    await contacts.sweep()

    customer = await contacts.service.customer("cus-1")
    assert customer.erasure_attested_at is not None
    assert customer.follow_up == follow_up
    erased = [e for e in contacts.published() if e["type"].endswith("personal-data-erased.v1")]
    assert len(erased) == 1
    due = contacts.backend.docs("customers")["cus-1"]["next_due_at"]
    assert due == stamp(follow_up.due_at)
