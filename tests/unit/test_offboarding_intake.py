"""Offboarding risk intake over the in-memory aggregate store: one open case per customer,
risks deduplicated by risk id, and every crash between the intake's writes healed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_offboarding.domain import RetentionOutcome, case_id_for
from crm_offboarding.lifecycle import CaseState
from crm_runtime.health import Health
from crm_runtime.metrics import Metrics
from crm_runtime.retry import TransientRetry
from crm_runtime.store_batch import StoreBatch
from tests.store_memory import SimulatedCrash
from tests.unit.offboarding_plugin import EXIT, Offboarding, risk, types

pytestmark = pytest.mark.unit


async def test_risk_opens_a_case_in_assessment_and_publishes_it(offb: Offboarding) -> None:
    data, event = risk()

    assert await offb.take(data, event) is True

    case = await offb.service.case(case_id_for(event.id))
    assert case.state is CaseState.ASSESSMENT
    assert list(case.risks) == ["risk-1"]
    assert case.risks["risk-1"].reasons == ["payment 20 days overdue"]
    [opened] = offb.outbox()
    assert opened.type == "crm.offboarding.offboarding-case-opened.v1"
    assert opened.data["case_id"] == case.case_id
    assert opened.data["category"] == "customer_performance"
    assert (opened.correlationid, opened.causationid) == ("journey-1", "evt-risk-1")
    assert offb.open_case_id() == case.case_id


async def test_the_same_risk_delivered_twice_opens_one_case(offb: Offboarding) -> None:
    data, event = risk()

    assert await offb.take(data, event) is True
    assert await offb.take(data, event) is False
    # Loyalty's relay may republish the same risk under a new id: still the same risk.
    assert await offb.take(*risk(event_id="evt-risk-1-again")) is False

    assert len(offb.stored_cases()) == 1
    assert types(offb.outbox()) == ["offboarding-case-opened"]


async def test_a_second_risk_joins_the_open_case_without_a_new_opening(offb: Offboarding) -> None:
    first = await offb.open_case()

    added = await offb.take(*risk(event_id="evt-risk-2", risk_id="risk-2"))
    again = await offb.take(*risk(event_id="evt-risk-2", risk_id="risk-2"))

    case = await offb.service.case(first.case_id)
    assert (added, again) == (True, False)
    assert sorted(case.risks) == ["risk-1", "risk-2"]
    assert case.version == first.version + 1
    assert len(offb.stored_cases()) == 1
    assert types(offb.outbox()) == ["offboarding-case-opened"]


async def test_other_customers_get_their_own_cases(offb: Offboarding) -> None:
    await offb.open_case()
    await offb.open_case(event_id="evt-risk-9", risk_id="risk-9", customer_id="cus-9")

    assert sorted(c.customer_id for c in offb.stored_cases()) == ["cus-1", "cus-9"]


async def test_after_retention_a_new_risk_opens_a_new_case(offb: Offboarding) -> None:
    case = await offb.in_negotiation()
    await offb.service.conclude_retention(
        case.case_id, RetentionOutcome(True, "emp-mgr"), "cmd-end"
    )
    assert offb.open_case_id() is None
    offb.clock.advance(timedelta(days=90))

    await offb.take(*risk(event_id="evt-risk-2", risk_id="risk-2"))

    newest, retained = await offb.service.cases_of("cus-1")
    assert retained.case_id == case.case_id
    assert retained.state is CaseState.RETAINED
    assert list(newest.risks) == ["risk-2"]
    assert types(offb.outbox()).count("offboarding-case-opened") == 2
    # The risk that opened the retained case, redelivered late, is still a duplicate.
    assert await offb.take(*risk()) is False


async def test_after_an_agreed_exit_new_risks_join_the_exit_case(offb: Offboarding) -> None:
    case = await offb.in_negotiation(retain=False)
    await offb.service.conclude_exit(case.case_id, EXIT, "cmd-exit")

    await offb.take(*risk(event_id="evt-risk-2", risk_id="risk-2"))

    [only] = await offb.service.cases_of("cus-1")
    assert only.state is CaseState.EXIT_AGREED
    assert sorted(only.risks) == ["risk-1", "risk-2"]


async def crash_after_the_marker(offb: Offboarding) -> None:
    """The first delivery routes the risk on the marker, then dies before the case write."""
    offb.backend.crash_after(1)
    with pytest.raises(SimulatedCrash):
        await offb.take(*risk())
    assert offb.open_case_id() == case_id_for("evt-risk-1")
    assert offb.stored_cases() == []


async def test_a_marker_whose_case_was_never_written_heals_on_redelivery(
    offb: Offboarding,
) -> None:
    await crash_after_the_marker(offb)

    assert await offb.take(*risk()) is True

    assert (await offb.service.case(case_id_for("evt-risk-1"))).state is CaseState.ASSESSMENT
    assert types(offb.outbox()) == ["offboarding-case-opened"]


async def test_a_later_risk_heals_a_dangling_marker_from_its_seed(offb: Offboarding) -> None:
    await crash_after_the_marker(offb)

    await offb.take(*risk(event_id="evt-risk-2", risk_id="risk-2"))

    case = await offb.service.case(case_id_for("evt-risk-1"))
    assert sorted(case.risks) == ["risk-1", "risk-2"]
    [opened] = offb.outbox()
    assert opened.causationid == "evt-risk-1"


async def test_a_republished_risk_heals_the_dangling_marker_and_stays_one_risk(
    offb: Offboarding,
) -> None:
    await crash_after_the_marker(offb)

    # Loyalty republishes the risk under a new id.
    assert await offb.take(*risk(event_id="evt-risk-1-again")) is False

    [case] = offb.stored_cases()
    assert case.case_id == case_id_for("evt-risk-1")
    assert list(case.risks) == ["risk-1"]
    assert case.risks["risk-1"].event_id == "evt-risk-1"
    [opened] = offb.outbox()
    assert opened.causationid == "evt-risk-1"


async def test_a_stale_marker_of_a_retained_case_is_released_by_the_next_risk(
    offb: Offboarding,
) -> None:
    case = await offb.in_negotiation()
    # Crash between concluding the case and releasing its marker.
    offb.backend.crash_after(1)
    with pytest.raises(SimulatedCrash):
        await offb.service.conclude_retention(
            case.case_id, RetentionOutcome(False, "emp-mgr"), "cmd-end"
        )
    assert offb.open_case_id() == case.case_id

    assert await offb.take(*risk(event_id="evt-risk-2", risk_id="risk-2")) is True

    assert offb.open_case_id() == case_id_for("evt-risk-2")
    assert (await offb.service.case(case.case_id)).risks.keys() == {"risk-1"}
    assert list((await offb.service.case(case_id_for("evt-risk-2"))).risks) == ["risk-2"]


async def test_a_poll_routes_its_risks_in_memory_and_writes_each_collection_once(
    offb: Offboarding,
) -> None:
    retry = TransientRetry(Health(), Metrics("test-offboarding"), (0.01, 0.01))
    with StoreBatch(retry) as batch:
        first = await offb.take(*risk())
        second = await offb.take(*risk(event_id="evt-risk-2", risk_id="risk-2"))
        again = await offb.take(*risk())
        assert offb.stored_cases() == []  # nothing written before the commit
        await batch.commit()

    assert (first, second, again) == (True, True, False)
    [case] = offb.stored_cases()
    assert sorted(case.risks) == ["risk-1", "risk-2"]
    assert types(offb.outbox()) == ["offboarding-case-opened"]
    assert offb.backend.writes == 2  # the marker, the case
