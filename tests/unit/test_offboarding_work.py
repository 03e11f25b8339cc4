"""Cases a manager opens by hand and the offboarding work queue (issue 9), over the
in-memory aggregate store (fixture ``offb``, tests/unit/offboarding_plugin.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crm_offboarding.codec import QueueQuery
from crm_offboarding.domain import ManualRisk
from crm_offboarding.lifecycle import CaseState
from crm_offboarding.views import queue_item
from tests.unit.offboarding_plugin import NOW, OFFER, RETAINED, REVIEW, Offboarding

pytestmark = pytest.mark.unit

STRATEGY_SHIFT = ManualRisk(
    customer_id="cus-1",
    category="company_strategy",
    reasons=["product line discontinued"],
    evidence=["board decision 2026-02"],
    opened_by="emp-mgr",
)


async def test_a_manager_opens_a_case_with_category_reasons_and_evidence(
    offb: Offboarding,
) -> None:
    case = await offb.service.open_manually(STRATEGY_SHIFT, "cmd-open-1")

    assert case.state is CaseState.ASSESSMENT
    assert case.category == "company_strategy"
    assert case.owner_id == "emp-mgr"  # the opener, when no owner is named
    (risk,) = case.risks.values()
    assert (risk.raised_by, risk.evidence) == ("emp-mgr", ["board decision 2026-02"])
    (opened,) = offb.published("offboarding-case-opened")
    assert opened.data["category"] == "company_strategy"
    assert opened.data["owner_id"] == "emp-mgr"
    assert opened.correlationid == "cmd-open-1"  # a manual case starts its own journey


async def test_a_case_opened_while_another_is_open_joins_it(offb: Offboarding) -> None:
    detected = await offb.open_case()

    joined = await offb.service.open_manually(STRATEGY_SHIFT, "cmd-open-1")

    assert joined.case_id == detected.case_id
    assert len(joined.risks) == 2
    assert joined.category == "customer_performance"  # the opening risk's
    assert len(offb.published("offboarding-case-opened")) == 1


async def test_the_same_open_command_twice_adds_one_risk(offb: Offboarding) -> None:
    first = await offb.service.open_manually(STRATEGY_SHIFT, "cmd-open-1")
    again = await offb.service.open_manually(STRATEGY_SHIFT, "cmd-open-1")

    assert again.case_id == first.case_id
    assert again.risks == first.risks


async def test_the_queue_filters_by_state_category_owner_and_opening_time(
    offb: Offboarding,
) -> None:
    detected = await offb.open_case(customer_id="cus-1")
    offb.clock.advance(timedelta(days=2))
    other = ManualRisk(**{**vars(STRATEGY_SHIFT), "customer_id": "cus-2", "owner_id": "emp-7"})
    manual = await offb.service.open_manually(other, "cmd-open-2")
    await offb.service.choose_retention(detected.case_id, OFFER, "cmd-s")

    async def ids(**query: Any) -> list[str]:
        return [c.case_id for c in await offb.service.queue(QueueQuery(**query))]

    assert await ids() == [manual.case_id, detected.case_id]  # newest first
    assert await ids(state="retention") == [detected.case_id]
    assert await ids(category="company_strategy") == [manual.case_id]
    assert await ids(owner_id="emp-7") == [manual.case_id]
    assert await ids(opened_before=NOW + timedelta(days=1)) == [detected.case_id]
    assert await ids(opened_before=NOW) == []  # strictly before


async def test_a_queue_item_shows_age_and_next_action(offb: Offboarding) -> None:
    case = await offb.open_case()
    later = NOW + timedelta(days=3, hours=5)

    item = queue_item(case, later, offb.service.rules)

    assert item.age_days == 3
    assert item.next_action.startswith("choose a strategy")
    assert not item.overdue


async def test_an_exit_waits_for_its_effective_date_and_is_overdue_after_it(
    offb: Offboarding,
) -> None:
    case = await offb.exited()
    assert case.exit_agreement is not None
    effective = case.exit_agreement.effective_date

    before = queue_item(case, effective - timedelta(days=1), offb.service.rules)
    after = queue_item(case, effective + timedelta(hours=1), offb.service.rules)

    assert (before.next_action_due, before.overdue) == (effective, False)
    assert after.overdue  # the sweeper has not run yet: visible in the queue


async def test_closed_cases_leave_the_default_queue(offb: Offboarding) -> None:
    case = await offb.in_negotiation()
    await offb.service.conclude_retention(case.case_id, RETAINED, "cmd-r")
    closed = await offb.service.record_review(case.case_id, REVIEW, "cmd-review")

    assert closed.state is CaseState.CLOSED
    assert await offb.service.queue(QueueQuery()) == []
    everything = await offb.service.queue(QueueQuery(include_closed=True))
    assert [c.case_id for c in everything] == [case.case_id]
