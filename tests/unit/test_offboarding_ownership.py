"""Cases follow the account: offboarding learns each account's owner from contacts'
facts (the newest wins whatever the order), an open case belongs to its account's owner,
and a move announces each open case as moved (offboarding's real wiring, in memory)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest

from crm_events.contacts import AccountOwnerChanged, CustomerRegistered
from crm_offboarding.app import create_app
from crm_offboarding.ownership import CaseOwnership
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.clock import ManualClock
from tests.store_memory import InMemoryBackend
from tests.unit.offboarding_plugin import NOW, Offboarding

pytestmark = pytest.mark.unit


@dataclass
class Owned(Offboarding):
    ownership: CaseOwnership | None = None


@pytest.fixture
def offb() -> Owned:
    backend = InMemoryBackend()
    app = create_app(OffboardingSettings(), ManualClock(NOW), store=backend)
    state = app.state
    return Owned(state.service, backend, state.runtime.clock, state.runtime, state.ownership)


def registered(customer: str = "cus-1", owner: str = "emp-gone") -> CustomerRegistered:
    return CustomerRegistered(customer_id=customer, display_name="Example", owner_id=owner)


def moved(new: str = "emp-next", previous: str = "emp-gone") -> AccountOwnerChanged:
    return AccountOwnerChanged(
        customer_id="cus-1",
        previous_owner_id=previous,
        new_owner_id=new,
        reason="employee_departed",
    )


async def cases_of(offb: Owned, employee: str) -> list[str]:
    assert offb.ownership is not None
    return [c.customer_id for c in await offb.ownership.open_cases_of(employee)]


def reassigned(offb: Owned) -> list[dict[str, str]]:
    docs = offb.backend.docs("accounts").values()
    events = [json.loads(e["value"]) for d in docs for e in (d.get("outbox") or {}).values()]
    return [e["data"] for e in events if e["type"].endswith("case-reassigned.v1")]


async def test_an_open_case_belongs_to_the_account_owner_and_moves_with_it(offb: Owned) -> None:
    assert await offb.deliver(registered().to_event(source="/crm/contacts", time=NOW)) == "applied"
    await offb.open_case()
    assert await cases_of(offb, "emp-gone") == ["cus-1"]

    event = moved().to_event(source="/crm/contacts", time=NOW + timedelta(hours=1))
    assert await offb.deliver(event) == "applied"
    assert await offb.deliver(event) == "duplicate"

    assert await cases_of(offb, "emp-gone") == []
    assert await cases_of(offb, "emp-next") == ["cus-1"]
    assert [(r["previous_owner_id"], r["new_owner_id"]) for r in reassigned(offb)] == [
        ("emp-gone", "emp-next")
    ]


async def test_a_move_before_the_registration_and_an_older_move_later_lose_nothing(
    offb: Owned,
) -> None:
    newer = moved("emp-c", "emp-b").to_event(source="/crm/contacts", time=NOW + timedelta(hours=2))
    older = moved("emp-b", "emp-a").to_event(source="/crm/contacts", time=NOW + timedelta(hours=1))
    assert await offb.deliver(newer) == "applied"
    assert await offb.deliver(older) == "duplicate"
    late = registered(owner="emp-a").to_event(source="/crm/contacts", time=NOW)
    assert await offb.deliver(late) == "applied"  # remembered; the newer move stands
    await offb.open_case()

    assert await cases_of(offb, "emp-c") == ["cus-1"]
    assert await cases_of(offb, "emp-a") == await cases_of(offb, "emp-b") == []
