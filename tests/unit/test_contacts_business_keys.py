"""Contacts records a fact once whatever event id it comes under (issue 6, finding 5): one
`exit-agreed` entry per case, one entry per touchpoint, and no `retained` entry for a
customer who was never leaving."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.offboarding import CustomerRetained, ExitAgreed
from tests.unit.contacts_plugin import CONTACTS_NOW as NOW
from tests.unit.contacts_plugin import Contacts
from tests.unit.guarded import event_of

pytestmark = pytest.mark.unit
CASE = {"customer_id": "cus-1", "case_id": "obc-1"}
LATER = (NOW + timedelta(days=30)).isoformat()


@pytest.fixture
async def registered(contacts: Contacts) -> Contacts:
    await contacts.deliver(event_of(CustomerRegistered, "reg-1", customer_id="cus-1"))
    return contacts


async def test_the_same_case_under_a_new_event_id_adds_one_exit_entry(
    registered: Contacts,
) -> None:
    runtime = registered

    first = await runtime.deliver(event_of(ExitAgreed, "exit-1", **CASE, effective_date=LATER))
    second = await runtime.deliver(event_of(ExitAgreed, "exit-2", **CASE, effective_date=LATER))

    assert (first, second) == ("applied", "duplicate")
    assert registered.kinds() == ["exit-agreed", "registered"]


async def test_a_case_exit_with_another_effective_date_is_a_conflict(
    registered: Contacts,
) -> None:
    runtime = registered
    await runtime.deliver(event_of(ExitAgreed, "exit-1", **CASE, effective_date=LATER))

    outcome = await runtime.deliver(event_of(ExitAgreed, "exit-2", **CASE))

    assert outcome.startswith("dlq:conflict: ")
    assert "exit-1" in outcome
    assert "exit-2" in outcome
    assert (await runtime.service.customer("cus-1")).exit_effective_at == NOW + timedelta(days=30)


async def test_a_retention_without_an_exit_changes_nothing_and_adds_no_entry(
    registered: Contacts,
) -> None:
    runtime = registered

    assert await runtime.deliver(event_of(CustomerRetained, "kept-1", **CASE)) == "duplicate"

    assert (await runtime.service.customer("cus-1")).lifecycle == "active"
    assert registered.kinds() == ["registered"]


async def test_a_retention_undoes_the_exit_of_its_own_case_once(
    registered: Contacts,
) -> None:
    runtime = registered
    await runtime.deliver(event_of(ExitAgreed, "exit-1", **CASE, effective_date=LATER))
    other_case = {**CASE, "case_id": "obc-2"}

    outcomes = [
        await runtime.deliver(event_of(CustomerRetained, "kept-0", **other_case)),
        await runtime.deliver(event_of(CustomerRetained, "kept-1", **CASE)),
        await runtime.deliver(event_of(CustomerRetained, "kept-2", **CASE)),
    ]

    assert outcomes == ["duplicate", "applied", "duplicate"]
    assert (await runtime.service.customer("cus-1")).lifecycle == "active"
    assert registered.kinds() == ["exit-agreed", "registered", "retained"]


async def test_the_same_touchpoint_reported_twice_is_one_timeline_entry(
    registered: Contacts,
) -> None:
    runtime = registered
    touchpoint = {"customer_id": "cus-1", "occurred_at": NOW.isoformat()}

    outcomes = [
        await runtime.deliver(event_of(ContactLogged, "call-1", **touchpoint)),
        await runtime.deliver(event_of(ContactLogged, "call-2", **touchpoint)),
        await runtime.deliver(event_of(ContactLogged, "call-3", **touchpoint, summary="other")),
    ]

    assert outcomes[:2] == ["applied", "duplicate"]
    assert outcomes[2].startswith("dlq:conflict: ")
    assert registered.kinds() == ["contact", "registered"]
