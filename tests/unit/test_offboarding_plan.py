"""Assessment and communication plan (issue 9, seed 000's steps): planned communications
are durable due dates, overdue ones surface in the work queue, held ones are logged and
published as ``ContactLogged`` for the customer's timeline."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from crm_offboarding.plan import Assessment, PlannedCommunication
from crm_offboarding.views import case_view, queue_item
from crm_runtime.errors import Conflict, DomainError, NotFound
from tests.unit.offboarding_plugin import NOW, RETAINED, REVIEW, Offboarding

pytestmark = pytest.mark.unit

CALL = PlannedCommunication(
    number=0,
    goal="explain the strategy change",
    audience="customer's purchasing lead",
    channel="phone",
    scheduled_at=NOW + timedelta(days=2),
    planned_by="emp-mgr",
)
ASSESSMENT = Assessment(
    customer_value_minor=1_200_000,
    currency="EUR",
    contract_obligations=["12 months notice", "data return on exit"],
    reasons=["payment defaults"],
    recommended_strategy="retain",
    assessed_by="emp-mgr",
    assessed_at=NOW,
)


async def test_the_assessment_is_recorded_with_the_consumed_health_score(
    offb: Offboarding,
) -> None:
    case = await offb.open_case()

    assessed = await offb.service.assess(case.case_id, ASSESSMENT, "cmd-assess")

    view = case_view(assessed, NOW, offb.service.rules)
    assert view.assessment is not None
    assert view.assessment.recommended_strategy == "retain"
    assert view.health_score == 31  # from the RiskDetected the case consumed


async def test_planned_communications_are_numbered_and_become_overdue_at_their_time(
    offb: Offboarding,
) -> None:
    case = await offb.open_case()
    await offb.service.plan_communication(case.case_id, CALL, "cmd-plan-1")
    later = replace(CALL, scheduled_at=NOW + timedelta(days=9))
    planned = await offb.service.plan_communication(case.case_id, later, "cmd-plan-2")
    assert sorted(planned.communications) == [1, 2]

    await offb.sweep(NOW + timedelta(days=3))

    overdue = await offb.service.case(case.case_id)
    assert overdue.communications[1].overdue_at == NOW + timedelta(days=3)
    assert overdue.communications[2].overdue_at is None
    item = queue_item(overdue, NOW + timedelta(days=3), offb.service.rules)
    assert item.overdue
    assert item.next_action.startswith("hold the overdue communication #1")


async def test_a_held_communication_is_logged_and_published_for_the_timeline(
    offb: Offboarding,
) -> None:
    case = await offb.open_case()
    await offb.service.plan_communication(case.case_id, CALL, "cmd-plan")

    held = await offb.service.hold_communication(
        case.case_id, 1, "emp-7", "accepted a meeting", None, "cmd-held"
    )

    assert held.communications[1].held_by == "emp-7"
    (logged,) = offb.published("contact-logged")
    assert logged.data["customer_id"] == "cus-1"
    assert (logged.data["channel"], logged.data["direction"]) == ("phone", "outbound")
    assert "accepted a meeting" in logged.data["summary"]
    assert logged.correlationid == "journey-1"
    with pytest.raises(Conflict):
        await offb.service.hold_communication(case.case_id, 1, "emp-7", "x", None, "cmd-2")
    with pytest.raises(NotFound):
        await offb.service.hold_communication(case.case_id, 9, "emp-7", "x", None, "cmd-3")


async def test_no_plan_once_the_case_waits_only_for_its_close(offb: Offboarding) -> None:
    case = await offb.in_negotiation()
    await offb.service.conclude_retention(case.case_id, RETAINED, "cmd-r")
    await offb.service.record_review(case.case_id, REVIEW, "cmd-review")

    with pytest.raises(DomainError):
        await offb.service.plan_communication(case.case_id, CALL, "cmd-plan")
