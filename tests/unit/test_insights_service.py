"""Insights' real wiring over the in-memory store: every catalogue topic is consumed, each
event lands once on its customer's journey and once in the KPIs, correlation chains read
as one story, and data disposal strips the journey of personal data."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, TypeVar

import pytest

from crm_events import REGISTRY, EventData
from crm_events.contacts import (
    AccountOwnerChanged,
    CustomerProfileUpdated,
    CustomerRegistered,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
)
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintRaised, ComplaintResolved, ComplaintSlaWarning
from crm_events.inbound import EmployeeDeparted, ReferralRecorded
from crm_events.loyalty import RiskDetected
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    OffboardingCaseOpened,
    PersonalDataErased,
    PersonalDataErasureRequested,
    PersonalDataExported,
    RelationshipEnded,
)
from crm_insights import summaries, translate
from crm_insights.decisions import ErasureRequest
from crm_insights.domain import PERSONAL_FIELDS
from tests.store_memory import SimulatedCrash
from tests.unit.insights_rig import INSIGHTS_NOW, insights_rig

pytestmark = pytest.mark.unit
M = TypeVar("M", bound=EventData)


def test_insights_consumes_every_topic_of_the_catalogue() -> None:
    rig = insights_rig()
    assert set(rig.runtime.consumed) == set(REGISTRY.models)


def registration(customer: str = "c-1") -> CustomerRegistered:
    return CustomerRegistered(
        customer_id=customer, display_name="王小明", owner_id="emp-1", kind="person"
    )


def golden(model: type[M], **overrides: Any) -> M:
    """The golden example's payload with ``overrides``."""
    return model.model_validate({**load_golden(model).data, **overrides})


async def test_an_event_lands_once_on_the_journey_and_once_in_the_kpis() -> None:
    rig = insights_rig()
    event = rig.event(registration())
    assert await rig.deliver(event) == "applied"
    assert await rig.deliver(event) == "duplicate"
    page = await rig.service.journey("c-1", limit=10, before=None)
    assert [e.event_type for e in page] == ["CustomerRegistered"]
    assert page[0].service == "contacts"
    figures = await rig.service.kpis("month", INSIGHTS_NOW.date(), INSIGHTS_NOW.date())
    assert figures["total"]["new_customers"] == 1


async def test_every_golden_example_gets_a_journey_line_in_both_languages() -> None:
    rig = insights_rig()
    for model in REGISTRY.models:
        event = load_golden(model)
        outcome = await rig.deliver(event)
        assert outcome in {"applied", "duplicate"}, (model, outcome)
        data = event.data
        for lang in ("en", "zh"):
            line = summaries.summary(model.event_name(), data, lang)  # type: ignore[arg-type]
            assert line
            assert "\n" not in line


def test_a_referral_names_the_referred_customer_in_both_languages() -> None:
    data = load_golden(ReferralRecorded).data

    assert summaries.summary("ReferralRecorded", data) == "Referred customer cus-1002 (link)"
    zh = summaries.summary("ReferralRecorded", data, "zh")
    assert zh == "推荐新客户 cus-1002\uff08link\uff09"


def test_an_unknown_type_gets_the_generic_line_with_its_ids() -> None:
    line = summaries.summary("ComplaintReopened", {"complaint_id": "k-9", "reason": "x"})
    assert line == "Complaint reopened (complaint_id k-9)"
    assert summaries.summary("ComplaintReopened", {}, "zh") == "事件\uff1aComplaint reopened"


async def test_a_correlation_chain_reads_as_one_story_across_services() -> None:
    rig = insights_rig()
    root = rig.event(golden(ComplaintRaised, customer_id="c-1"))
    risk = rig.event(
        golden(RiskDetected, customer_id="c-1"),
        at=INSIGHTS_NOW + timedelta(minutes=5),
        cause=root,
    )
    case = rig.event(
        golden(OffboardingCaseOpened, customer_id="c-1"),
        at=INSIGHTS_NOW + timedelta(minutes=9),
        cause=risk,
    )
    for event in (case, root, risk):  # reordered across topics
        assert await rig.deliver(event) == "applied"
    chain = await rig.service.chain(root.id, limit=10, before=None)
    assert [e.service for e in reversed(chain)] == ["feedback", "loyalty", "offboarding"]
    assert [e.causation_id for e in reversed(chain)] == [None, root.id, risk.id]


async def test_facts_about_an_employee_count_without_a_customer_journey() -> None:
    rig = insights_rig()
    data = golden(EmployeeDeparted)
    assert await rig.deliver(rig.event(data)) == "applied"
    day = data.departed_at.date()
    assert (await rig.service.kpis("day", day, day))["total"]["departures"] == 1


def attestations(rig: Any) -> list[dict[str, Any]]:
    outbox = [
        json.loads(entry["value"])
        for doc in rig.backend.docs("customers").values()
        for entry in (doc.get("outbox") or {}).values()
    ]
    return [e for e in outbox if e["type"] == PersonalDataErased.event_type()]


async def test_erasure_keeps_the_counts_drops_names_also_from_later_events_and_attests() -> None:
    rig = insights_rig()
    await rig.deliver(rig.event(registration()))
    born = golden(CustomerProfileUpdated, customer_id="c-1", date_of_birth="1990-02-28")
    await rig.deliver(rig.event(born))
    request = rig.event(golden(PersonalDataErasureRequested, customer_id="c-1", case_id="obc-9"))
    assert await rig.deliver(request) == "applied"
    assert await rig.deliver(request) == "duplicate"
    later = golden(
        CustomerProfileUpdated,
        customer_id="c-1",
        display_name="王大明",
        date_of_birth="1990-02-28",
    )
    assert await rig.deliver(rig.event(later)) == "applied"
    assert attestations(rig) == []  # not before the journey is stripped
    assert await rig.sweep() == 1
    assert await rig.sweep() == 0  # no longer due

    facts = await rig.service.customer("c-1")
    assert facts.erased
    assert facts.name is None
    assert facts.erasure_request is None
    page = await rig.service.journey("c-1", limit=10, before=None)
    assert all("display_name" not in e.data for e in page)
    assert all("date_of_birth" not in e.data for e in page)
    assert all(e.erased for e in page)
    figures = await rig.service.kpis("month", INSIGHTS_NOW.date(), INSIGHTS_NOW.date())
    assert figures["total"]["new_customers"] == 1
    [attestation] = attestations(rig)
    assert attestation["data"]["service"] == "insights"
    assert (attestation["data"]["case_id"], attestation["causationid"]) == ("obc-9", request.id)


async def test_a_crash_between_a_write_and_its_journey_entry_leaves_nothing_personal() -> None:
    """The profile's write lands, its journey entry (with the name) does not; the erasure
    that follows stores the carried entry first, and the sweeper strips it before it
    attests."""
    rig = insights_rig()
    await rig.deliver(rig.event(registration()))
    profile = golden(
        CustomerProfileUpdated,
        customer_id="c-1",
        display_name="王大明",
        date_of_birth="1990-02-28",
    )
    rig.backend.crash_after(1)  # the customer write happens, the entries' insert does not
    with pytest.raises(SimulatedCrash):
        await rig.service.observe(translate.observed(profile, rig.event(profile)))
    request = rig.event(golden(PersonalDataErasureRequested, customer_id="c-1", case_id="obc-9"))
    data = PersonalDataErasureRequested.model_validate(request.data)
    erasure = ErasureRequest(request.id, request.id, data.customer_id, data.case_id)
    assert await rig.service.erase(erasure, rig.clock.now())
    assert await rig.sweep() == 1

    page = await rig.service.journey("c-1", limit=10, before=None)
    assert CustomerProfileUpdated.event_name() in {e.event_type for e in page}
    assert all(e.erased and "display_name" not in e.data for e in page)
    assert all("date_of_birth" not in e.data for e in page)
    assert len(attestations(rig)) == 1


async def test_work_queues_list_warned_complaints_and_open_cases_by_next_action() -> None:
    rig = insights_rig()
    due = INSIGHTS_NOW + timedelta(hours=6)
    raised = golden(ComplaintRaised, customer_id="c-1", complaint_id="k-1", resolution_due_at=due)
    calm = golden(ComplaintRaised, customer_id="c-2", complaint_id="k-2")
    warning = golden(ComplaintSlaWarning, customer_id="c-1", complaint_id="k-1")
    case = golden(OffboardingCaseOpened, customer_id="c-3", case_id="case-3")
    exit_agreed = golden(ExitAgreed, customer_id="c-3", case_id="case-3")
    other = golden(OffboardingCaseOpened, customer_id="c-4", case_id="case-4")
    for data in (raised, calm, warning, case, other):
        assert await rig.deliver(rig.event(data)) == "applied"
    later = INSIGHTS_NOW + timedelta(days=1)
    assert await rig.deliver(rig.event(exit_agreed, at=later)) == "applied"

    complaints = await rig.service.complaint_queue(10)
    assert [(q.complaint_id, q.due_at) for q in complaints] == [("k-1", due)]
    cases = await rig.service.case_queue(10)
    assert [(q.case_id, q.case.next_action) for q in cases] == [
        ("case-4", "assess"),
        ("case-3", "end_relationship"),
    ]
    resolved = golden(ComplaintResolved, customer_id="c-1", complaint_id="k-1")
    retained = golden(CustomerRetained, customer_id="c-4", case_id="case-4")
    for data in (resolved, retained):
        assert await rig.deliver(rig.event(data)) == "applied"
    assert await rig.service.complaint_queue(10) == []
    assert [q.case_id for q in await rig.service.case_queue(10)] == ["case-3"]


def _free_text(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "string" and schema.get("maxLength", 0) >= 1000:
        return True
    return any(_free_text(option) for option in schema.get("anyOf", []))


def test_every_free_text_field_of_the_catalogue_is_erased_from_the_journey() -> None:
    """A contract that adds a free-text field (``FreeText``, may hold personal data) must
    not slip past data disposal: the field is in ``PERSONAL_FIELDS``."""
    free_text = {
        name
        for model in REGISTRY.models
        for name, prop in model.model_json_schema().get("properties", {}).items()
        if _free_text(prop)
    }
    assert free_text, "no free-text fields found: the check itself broke"
    assert free_text <= set(PERSONAL_FIELDS)


def test_an_export_sections_copy_of_the_customer_is_never_kept_on_the_journey() -> None:
    exported = golden(PersonalDataExported, section='{"email": "someone@example.com"}')
    observed = translate.observed(exported, load_golden(PersonalDataExported))
    assert "section" not in observed.data
    assert observed.data["service"] == exported.service


def _follow_up(model: type[M], customer: str, fid: str, due_days: int, **more: Any) -> M:
    due = INSIGHTS_NOW + timedelta(days=due_days)
    return golden(model, customer_id=customer, follow_up_id=fid, due_at=due, **more)


async def test_the_follow_up_queue_lists_overdue_first_then_the_oldest_due_per_owner() -> None:
    rig = insights_rig()
    facts = [
        _follow_up(FollowUpScheduled, "c-1", "fu-1", 5, owner_id="emp-1"),
        _follow_up(FollowUpScheduled, "c-2", "fu-2", 2, owner_id="emp-1"),
        _follow_up(FollowUpScheduled, "c-3", "fu-3", -3, owner_id="emp-2"),
        _follow_up(FollowUpOverdue, "c-3", "fu-3", -3, owner_id="emp-2"),
        _follow_up(FollowUpScheduled, "c-4", "fu-4", -1, owner_id="emp-1"),
        _follow_up(FollowUpOverdue, "c-4", "fu-4", -1, owner_id="emp-1"),
    ]
    for data in facts:
        assert await rig.deliver(rig.event(data)) == "applied"

    everyone = await rig.service.follow_up_queue(None, 10)
    assert [(q.follow_up_id, q.follow_up.overdue) for q in everyone] == [
        ("fu-3", True),
        ("fu-4", True),
        ("fu-2", False),
        ("fu-1", False),
    ]
    mine = await rig.service.follow_up_queue("emp-1", 10)
    assert [q.follow_up_id for q in mine] == ["fu-4", "fu-2", "fu-1"]
    assert [q.follow_up_id for q in await rig.service.follow_up_queue("emp-1", 1)] == ["fu-4"]


async def test_a_completed_follow_up_leaves_the_queue_whatever_the_order() -> None:
    rig = insights_rig()
    completed = _follow_up(
        FollowUpCompleted, "c-1", "fu-1", -2, employee_id="emp-1", completed_at=INSIGHTS_NOW
    )
    # The completion arrives before the facts it closes (another topic, a replay).
    assert await rig.deliver(rig.event(completed)) == "applied"
    for model in (FollowUpScheduled, FollowUpOverdue):
        data = _follow_up(model, "c-1", "fu-1", -2, owner_id="emp-1")
        assert await rig.deliver(rig.event(data)) == "applied"
    assert await rig.service.follow_up_queue(None, 10) == []

    following = _follow_up(FollowUpScheduled, "c-1", "fu-2", 14, owner_id="emp-1")
    assert await rig.deliver(rig.event(following)) == "applied"
    assert [q.follow_up_id for q in await rig.service.follow_up_queue(None, 10)] == ["fu-2"]


async def test_the_account_owner_takes_the_follow_up_whatever_the_order() -> None:
    rig = insights_rig()
    scheduled = _follow_up(FollowUpScheduled, "c-1", "fu-1", 3, owner_id="emp-1")
    moved = golden(
        AccountOwnerChanged,
        customer_id="c-1",
        previous_owner_id="emp-1",
        new_owner_id="emp-9",
        reason="employee_departed",
    )
    later = INSIGHTS_NOW + timedelta(hours=1)
    assert await rig.deliver(rig.event(moved, at=later)) == "applied"
    # The schedule is older than the move but arrives after it (another topic): contacts
    # moved the follow-up to the new owner, so the queue does too.
    assert await rig.deliver(rig.event(scheduled)) == "applied"
    assert await rig.service.follow_up_queue("emp-1", 10) == []
    assert [q.follow_up_id for q in await rig.service.follow_up_queue("emp-9", 10)] == ["fu-1"]

    moved_again = golden(
        AccountOwnerChanged,
        customer_id="c-1",
        previous_owner_id="emp-1",
        new_owner_id="emp-7",
        reason="reassigned",
    )
    assert await rig.deliver(rig.event(moved_again, at=later + timedelta(hours=1))) == "applied"
    assert [q.follow_up_id for q in await rig.service.follow_up_queue("emp-7", 10)] == ["fu-1"]
    assert await rig.service.follow_up_queue("emp-1", 10) == []


async def test_an_ended_relationship_or_an_erasure_drops_the_follow_ups() -> None:
    rig = insights_rig()
    for customer, fid in (("c-1", "fu-1"), ("c-2", "fu-2"), ("c-3", "fu-3")):
        data = _follow_up(FollowUpOverdue, customer, fid, -1, owner_id="emp-1")
        assert await rig.deliver(rig.event(data)) == "applied"
    ended = golden(RelationshipEnded, customer_id="c-1", case_id="case-1")
    assert await rig.deliver(rig.event(ended)) == "applied"
    erasure = ErasureRequest("req-2", "corr-2", "c-2", "case-2")
    assert await rig.service.erase(erasure, rig.clock.now())

    assert [q.customer_id for q in await rig.service.follow_up_queue("emp-1", 10)] == ["c-3"]
