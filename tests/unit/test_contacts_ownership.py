"""Relationships belong to the company: owner and team changes, and a departed employee's
accounts handed over by the rule — through contacts' real wiring on the in-memory store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_events import CloudEvent
from crm_events.contacts import CustomerProfileUpdated, CustomerRegistered
from crm_events.feedback import ComplaintReassigned
from crm_events.inbound import EmployeeDeparted, PurchaseRecorded
from crm_events.offboarding import OffboardingCaseReassigned
from crm_runtime.errors import Conflict, NotFound
from tests.store_memory import SimulatedCrash
from tests.unit.contacts_plugin import CONTACTS_NOW as NOW
from tests.unit.contacts_plugin import Contacts

pytestmark = pytest.mark.unit


async def register(
    contacts: Contacts, customer_id: str, owner: str, team: dict[str, str] | None = None
) -> None:
    data = CustomerRegistered(customer_id=customer_id, display_name="Example", owner_id=owner)
    await contacts.service.register(data, f"reg-{customer_id}")
    if team:
        await contacts.service.set_team(customer_id, team, f"team-{customer_id}")


def departed(employee: str, successor: str | None = None) -> EmployeeDeparted:
    return EmployeeDeparted(employee_id=employee, departed_at=NOW, successor_id=successor)


async def depart(contacts: Contacts, employee: str, successor: str | None = None) -> CloudEvent:
    event = contacts.external(departed(employee, successor))
    assert await contacts.deliver(event) == "applied"
    return event


async def owners(contacts: Contacts, *customer_ids: str) -> list[str]:
    return [(await contacts.service.customer(c)).owner_id for c in customer_ids]


async def owned_by(contacts: Contacts, employee: str) -> list[str]:
    found = await contacts.service.accounts_of(employee, before=None, limit=100)
    return sorted(c.customer_id for c in found)


async def test_a_manager_moves_the_owner_and_the_move_is_published(contacts: Contacts) -> None:
    await register(contacts, "cus-1", "emp-1", {"emp-2": "deputy"})

    moved = await contacts.service.change_owner("cus-1", "emp-2", "own-1")

    assert (moved.owner_id, moved.team) == ("emp-2", {})  # the owner is not also a member
    assert contacts.published_of("account-owner-changed") == [
        {
            "customer_id": "cus-1",
            "previous_owner_id": "emp-1",
            "new_owner_id": "emp-2",
            "reason": "reassigned",
        }
    ]
    assert await owned_by(contacts, "emp-2") == ["cus-1"]
    assert await owned_by(contacts, "emp-1") == []
    assert "owner-changed" in contacts.kinds()


async def test_moving_to_the_same_owner_changes_nothing(contacts: Contacts) -> None:
    await register(contacts, "cus-1", "emp-1")
    await contacts.service.change_owner("cus-1", "emp-1", "own-1")
    assert contacts.published_of("account-owner-changed") == []


async def test_a_team_change_names_roles_and_who_left_the_team(contacts: Contacts) -> None:
    await register(contacts, "cus-1", "emp-1", {"emp-2": "deputy", "emp-3": "sales"})
    await contacts.service.set_team("cus-1", {"emp-2": "manager", "emp-1": "sales"}, "team-2")

    assert (await contacts.service.customer("cus-1")).team == {"emp-2": "manager"}
    changes = contacts.published_of("account-team-changed")
    assert changes[-1] == {
        "customer_id": "cus-1",
        "members": {"emp-2": "manager"},
        "removed": ["emp-3"],
        "reason": "reassigned",
    }


async def test_nobody_who_has_left_can_be_made_owner_or_member(contacts: Contacts) -> None:
    await register(contacts, "cus-1", "emp-1")
    await depart(contacts, "emp-7")
    with pytest.raises(Conflict, match="left the company"):
        await contacts.service.change_owner("cus-1", "emp-7", "own-1")
    with pytest.raises(Conflict):
        await contacts.service.set_team("cus-1", {"emp-7": "deputy"}, "team-9")
    with pytest.raises(NotFound):
        await contacts.service.change_owner("nobody", "emp-2", "own-2")


async def test_a_departure_hands_every_account_over_by_the_rule(contacts: Contacts) -> None:
    await register(contacts, "cus-deputy", "emp-1", {"emp-2": "deputy", "emp-4": "manager"})
    await register(contacts, "cus-manager", "emp-1", {"emp-4": "manager"})
    await register(contacts, "cus-alone", "emp-1")
    await register(contacts, "cus-seat", "emp-5", {"emp-1": "sales", "emp-6": "deputy"})

    await depart(contacts, "emp-1")

    assert await owners(contacts, "cus-deputy", "cus-manager", "cus-alone", "cus-seat") == [
        "emp-2",
        "emp-4",
        "account-pool",
        "emp-5",
    ]
    assert (await contacts.service.customer("cus-seat")).team == {"emp-6": "deputy"}
    assert await owned_by(contacts, "emp-1") == []
    moves = contacts.published_of("account-owner-changed")
    assert {m["reason"] for m in moves} == {"employee_departed"}
    assert len(moves) == 3
    assert contacts.published_of("employee-handover-completed") == [
        {"employee_id": "emp-1", "accounts_reassigned": 3, "team_seats_removed": 1}
    ]
    record, _ = await contacts.service.departures.departure("emp-1")
    assert (record.accounts, record.seats) == (3, 1)


async def test_the_named_successor_takes_every_account(contacts: Contacts) -> None:
    for n in range(3):
        await register(contacts, f"cus-{n}", "emp-1", {"emp-2": "deputy"})
    await depart(contacts, "emp-1", successor="emp-9")
    assert await owned_by(contacts, "emp-9") == ["cus-0", "cus-1", "cus-2"]


async def test_a_successor_who_left_earlier_is_followed_down_the_chain(
    contacts: Contacts,
) -> None:
    await register(contacts, "cus-1", "emp-a")
    await depart(contacts, "emp-b", successor="emp-c")
    await depart(contacts, "emp-a", successor="emp-b")
    assert await owners(contacts, "cus-1") == ["emp-c"]


async def test_departures_in_either_order_end_with_the_live_successor(
    contacts: Contacts,
) -> None:
    await register(contacts, "cus-1", "emp-a")
    await depart(contacts, "emp-a", successor="emp-b")
    await depart(contacts, "emp-b", successor="emp-c")
    assert await owners(contacts, "cus-1") == ["emp-c"]
    assert await owned_by(contacts, "emp-a") == await owned_by(contacts, "emp-b") == []


async def test_a_successor_naming_the_leaver_and_a_cycle_fall_back_to_the_rule(
    contacts: Contacts,
) -> None:
    await register(contacts, "cus-1", "emp-a", {"emp-d": "deputy"})
    await register(contacts, "cus-2", "emp-x", {"emp-d": "deputy"})
    await depart(contacts, "emp-a", successor="emp-a")
    await depart(contacts, "emp-y", successor="emp-x")
    await depart(contacts, "emp-x", successor="emp-y")
    assert await owners(contacts, "cus-1", "cus-2") == ["emp-d", "emp-d"]


async def test_someone_owning_nothing_departs_with_an_empty_record(contacts: Contacts) -> None:
    await depart(contacts, "emp-0")
    record, _ = await contacts.service.departures.departure("emp-0")
    assert (record.accounts, record.seats) == (0, 0)
    assert contacts.published_of("employee-handover-completed") == []


async def test_a_redelivered_departure_changes_nothing(contacts: Contacts) -> None:
    await register(contacts, "cus-1", "emp-1", {"emp-2": "deputy"})
    event = await depart(contacts, "emp-1")
    before = contacts.published()

    assert await contacts.deliver(event) == "duplicate"
    assert contacts.published() == before


async def test_a_crash_midway_is_finished_by_the_redelivery_with_true_counts(
    contacts: Contacts,
) -> None:
    for n in range(4):
        await register(contacts, f"cus-{n}", "emp-1", {"emp-2": "deputy"})
    event = contacts.external(departed("emp-1"))
    contacts.backend.crash_after(3)  # the record and two customers are stored
    with pytest.raises(SimulatedCrash):
        await contacts.deliver(event)

    assert await contacts.deliver(event) == "applied"
    assert await owned_by(contacts, "emp-1") == []
    assert contacts.published_of("employee-handover-completed")[-1]["accounts_reassigned"] == 4


async def test_an_account_registered_for_someone_gone_goes_where_theirs_went(
    contacts: Contacts,
) -> None:
    await depart(contacts, "emp-1", successor="emp-9")
    data = CustomerRegistered(
        customer_id="cus-late", display_name="Example", owner_id="emp-1", account_team=["emp-1"]
    )
    assert await contacts.deliver(contacts.external(data)) == "applied"

    customer = await contacts.service.customer("cus-late")
    assert (customer.owner_id, customer.team) == ("emp-9", {})
    assert contacts.published_of("account-owner-changed")[-1]["new_owner_id"] == "emp-9"


@pytest.mark.parametrize("owned_before", [0, 2])
async def test_the_recheck_catches_an_account_written_during_the_hand_over(
    contacts: Contacts, owned_before: int
) -> None:
    for n in range(owned_before):
        await register(contacts, f"cus-{n}", "emp-1")
    await depart(contacts, "emp-1", successor="emp-9")
    # A registration decided before the departure was recorded lands afterwards:
    await register(contacts, "cus-race", "emp-2")
    contacts.backend.docs("customers")["cus-race"]["owner_id"] = "emp-1"

    contacts.clock.advance(timedelta(minutes=11))
    await contacts.sweep()

    assert await owners(contacts, "cus-race") == ["emp-9"]
    record, _ = await contacts.service.departures.departure("emp-1")
    assert (record.accounts, record.recheck_at) == (owned_before + 1, None)
    assert "next_due_at" not in contacts.backend.docs("departures")["emp-1"]


async def test_the_open_follow_up_moves_with_the_account(contacts: Contacts) -> None:
    await register(contacts, "cus-1", "emp-1", {"emp-2": "deputy"})
    purchase = PurchaseRecorded(
        order_id="ord-1", customer_id="cus-1", amount_minor=100, currency="EUR", purchased_at=NOW
    )
    assert await contacts.deliver(contacts.external(purchase)) == "applied"
    await depart(contacts, "emp-1")

    follow_up = (await contacts.service.customer("cus-1")).follow_up
    assert follow_up is not None
    assert follow_up.owner_id == "emp-2"
    queue = await contacts.service.follow_ups("emp-2", "due", before=None, limit=10)
    assert [c.customer_id for c in queue] == ["cus-1"]
    assert await contacts.service.follow_ups("emp-1", "due", before=None, limit=10) == []


async def test_other_services_hand_overs_are_counted_and_remembered(contacts: Contacts) -> None:
    await register(contacts, "cus-1", "emp-1", {"emp-2": "deputy"})
    await depart(contacts, "emp-1")
    moved = ComplaintReassigned(
        complaint_id="c-1",
        customer_id="cus-1",
        previous_owner_id="emp-1",
        new_owner_id="emp-2",
        reason="employee_departed",
    )
    event = moved.to_event(source="/crm/feedback", time=NOW)
    assert await contacts.deliver(event) == "applied"
    assert await contacts.deliver(event) == "duplicate"
    case = OffboardingCaseReassigned(
        case_id="obc-1",
        customer_id="cus-1",
        previous_owner_id="emp-1",
        new_owner_id="emp-2",
        reason="employee_departed",
    )
    assert await contacts.deliver(case.to_event(source="/crm/offboarding", time=NOW)) == "applied"

    _, others = await contacts.service.departures.departure("emp-1")
    assert others == {"feedback": 1, "offboarding": 1}
    assert {"complaint-reassigned", "case-reassigned"} <= set(contacts.kinds())


async def test_a_complaint_for_an_unknown_customer_waits_for_the_registration(
    contacts: Contacts,
) -> None:
    moved = ComplaintReassigned(
        complaint_id="c-1",
        customer_id="cus-new",
        previous_owner_id="emp-1",
        new_owner_id="emp-2",
        reason="reassigned",
    )
    assert await contacts.deliver(moved.to_event(source="/crm/feedback", time=NOW)) == "parked"


async def test_a_consumed_profile_update_never_puts_a_leaver_back_on_the_team(
    contacts: Contacts,
) -> None:
    await register(contacts, "cus-1", "emp-1", {"emp-2": "deputy"})
    await depart(contacts, "emp-3")
    stale = CustomerProfileUpdated(customer_id="cus-1", account_team=["emp-2", "emp-3", "emp-4"])

    event = contacts.external(stale)
    assert await contacts.deliver(event) == "applied"
    assert await contacts.deliver(event) == "duplicate"

    customer = await contacts.service.customer("cus-1")
    assert customer.team == {"emp-2": "deputy", "emp-4": "member"}
    with pytest.raises(Conflict, match="emp-3 has left"):  # the HTTP path refuses outright
        await contacts.service.update_profile(stale, "patch-1")
