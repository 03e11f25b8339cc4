"""Contacts service layer with the in-memory repository: the lifecycle in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_contacts.domain import Customer
from crm_contacts.memory import InMemoryContactsRepository
from crm_contacts.service import ContactsService
from crm_events import CloudEvent, EventData
from crm_events.common import Channel, Direction
from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_events.offboarding import CustomerRetained, ExitAgreed
from crm_runtime.clock import ManualClock
from crm_runtime.errors import Conflict, DomainError, MissingPrerequisite, NotFound

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def repo() -> InMemoryContactsRepository:
    return InMemoryContactsRepository()


@pytest.fixture
def service(repo: InMemoryContactsRepository) -> ContactsService:
    return ContactsService(repo, ManualClock(NOW), source="/crm/contacts")


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


def external(data: EventData) -> CloudEvent:
    return data.to_event(source="/call-centre", time=NOW)


async def test_register_stores_customer_and_publishes_registration(
    service: ContactsService, repo: InMemoryContactsRepository
) -> None:
    customer = await service.register(registration(), "evt-1")

    assert customer.classification == "potential"
    assert customer.account_team == ["emp-2"]  # the owner is not also a team member
    assert [e.type for e in repo.outbox] == ["crm.contacts.customer-registered.v1"]
    assert repo.outbox[0].id == "evt-1"
    assert [e.kind for e in repo.entries.values()] == ["registered"]


async def test_register_twice_with_same_event_is_harmless(
    service: ContactsService, repo: InMemoryContactsRepository
) -> None:
    await service.register(registration(), "evt-1")
    await service.register(registration(), "evt-1")

    assert len(repo.customers) == 1
    assert len(repo.outbox) == 1


async def test_register_existing_customer_by_other_event_conflicts(
    service: ContactsService,
) -> None:
    await service.register(registration(), "evt-1")
    with pytest.raises(Conflict):
        await service.register(registration(), "evt-2")


async def test_idempotency_key_gives_same_event_id(service: ContactsService) -> None:
    first = service.event_id("log-contact", "cus-1", "key-1")
    assert first == service.event_id("log-contact", "cus-1", "key-1")
    assert first != service.event_id("log-contact", "cus-2", "key-1")
    assert service.event_id("log-contact", "cus-1", None) != service.event_id(
        "log-contact", "cus-1", None
    )


async def test_profile_update_changes_only_given_fields(
    service: ContactsService, repo: InMemoryContactsRepository
) -> None:
    await service.register(registration(), "evt-1")
    update = CustomerProfileUpdated(customer_id="cus-1", phone="+44 20 0000 0000")

    customer = await service.update_profile(update, "evt-2")
    again = await service.update_profile(update, "evt-2")

    assert customer.phone == "+44 20 0000 0000"
    assert customer.email == "someone@example.com"
    assert again.version == customer.version == 2
    profile_entries = [e for e in repo.entries.values() if e.kind == "profile-updated"]
    assert profile_entries[0].details == {"fields": ["phone"], "updated_by": None}


async def test_update_unknown_customer_is_not_found(service: ContactsService) -> None:
    with pytest.raises(NotFound):
        await service.update_profile(CustomerProfileUpdated(customer_id="nobody"), "evt-1")


async def test_log_contact_adds_timeline_entry_and_publishes(
    service: ContactsService, repo: InMemoryContactsRepository
) -> None:
    await service.register(registration(), "evt-1")

    entry = await service.log_contact(contact(), "evt-2")

    assert entry.kind == "contact"
    assert entry.details["channel"] == "phone"
    assert repo.outbox[-1].type == "crm.contacts.contact-logged.v1"


async def test_contact_in_the_future_is_rejected(service: ContactsService) -> None:
    await service.register(registration(), "evt-1")
    future = contact().model_copy(update={"occurred_at": NOW + timedelta(hours=1)})
    with pytest.raises(DomainError, match="future"):
        await service.log_contact(future, "evt-2")


async def test_consumed_contact_for_unknown_customer_waits_for_registration(
    service: ContactsService,
) -> None:
    data = contact("ghost")
    with pytest.raises(MissingPrerequisite, match="unknown customer ghost"):
        await service.on_contact_logged(data, external(data))


async def test_consumed_contact_applies_once_and_publishes_nothing(
    service: ContactsService, repo: InMemoryContactsRepository
) -> None:
    await service.on_customer_registered(registration(), external(registration()))
    data = contact()
    event = external(data)

    assert await service.on_contact_logged(data, event) is True
    assert await service.on_contact_logged(data, event) is False
    assert repo.outbox == []


async def test_timeline_is_newest_first_and_paginates(service: ContactsService) -> None:
    await service.register(registration(), "evt-0")
    for minute in range(5):
        await service.log_contact(contact(minutes=minute), f"evt-c{minute}")

    first = await service.timeline("cus-1", limit=3, before=None)
    last = first[-1]
    rest = await service.timeline("cus-1", limit=3, before=(last.occurred_at, last.entry_id))

    assert [e.entry_id for e in first] == ["evt-0", "evt-c4", "evt-c3"]
    assert [e.entry_id for e in rest] == ["evt-c2", "evt-c1", "evt-c0"]


def test_customer_register_keeps_owner_out_of_team() -> None:
    customer = Customer.register(registration(owner="emp-1"), NOW)
    assert customer.owner_id == "emp-1"
    assert "emp-1" not in customer.account_team


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


async def test_exit_agreed_marks_customer_exiting_then_former_at_effective_date(
    repo: InMemoryContactsRepository,
) -> None:
    clock = ManualClock(NOW)
    service = ContactsService(repo, clock, source="/crm/contacts")
    await service.register(registration(), "evt-1")
    data = exit_agreed()

    assert await service.on_exit_agreed(data, external(data)) is True
    await service.on_exit_agreed(data, external(data))  # new envelope id, same case
    exiting = await service.customer("cus-1")
    await service.on_exit_effective("cus-1", NOW + timedelta(days=30))
    await service.on_exit_effective("cus-1", NOW + timedelta(days=30))
    former = await service.customer("cus-1")

    assert exiting.lifecycle == "exiting"
    assert exiting.exit_case_id == "case-1"
    assert former.lifecycle == "former"
    assert former.classification == "churned"
    classified = [e for e in repo.outbox if e.type == "crm.contacts.customer-classified.v1"]
    assert len(classified) == 1
    assert classified[0].data["classification"] == "churned"
    kinds = [e.kind for e in repo.entries.values()]
    assert kinds.count("exit-agreed") == 1  # the entry is keyed by the case
    assert kinds.count("relationship-ended") == 1


async def test_same_exit_event_twice_changes_nothing(
    service: ContactsService, repo: InMemoryContactsRepository
) -> None:
    await service.register(registration(), "evt-1")
    data = exit_agreed()
    event = external(data)

    assert await service.on_exit_agreed(data, event) is True
    assert await service.on_exit_agreed(data, event) is False
    assert [e.kind for e in repo.entries.values()].count("exit-agreed") == 1


async def test_customer_retained_clears_the_exit(service: ContactsService) -> None:
    await service.register(registration(), "evt-1")
    data = exit_agreed()
    await service.on_exit_agreed(data, external(data))
    retained = CustomerRetained(
        case_id="case-1", customer_id="cus-1", offer_accepted=True, retained_by="mgr-1"
    )

    await service.on_customer_retained(retained, external(retained))

    customer = await service.customer("cus-1")
    assert customer.lifecycle == "active"
    assert customer.exit_case_id is None


async def test_exit_for_unknown_customer_waits(service: ContactsService) -> None:
    data = exit_agreed("ghost")
    with pytest.raises(MissingPrerequisite):
        await service.on_exit_agreed(data, external(data))
