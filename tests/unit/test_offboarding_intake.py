"""Offboarding risk intake with the in-memory repository: one open case per customer,
risks deduplicated by risk id, and every crash between the intake's writes healed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_offboarding.domain import OpenCaseMarker, RetentionOutcome, case_id_for
from crm_offboarding.lifecycle import CaseState
from crm_offboarding.memory import InMemoryOffboardingRepository
from crm_offboarding.service import OffboardingService
from crm_runtime.clock import ManualClock
from tests.unit.test_offboarding_service import (
    EXIT,
    clock_fixture,  # noqa: F401  (fixture "clock")
    in_negotiation,
    open_case,
    repo_fixture,  # noqa: F401  (fixture "repo")
    risk,
    service_fixture,  # noqa: F401  (fixture "service")
    types,
)

pytestmark = pytest.mark.unit


async def test_risk_opens_a_case_in_assessment_and_publishes_it(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    data, event = risk()

    assert await service.on_risk_detected(data, event) is True

    case = await service.case(case_id_for(event.id))
    assert case.state is CaseState.ASSESSMENT
    assert list(case.risks) == ["risk-1"]
    assert case.risks["risk-1"].reasons == ["payment 20 days overdue"]
    [opened] = repo.outbox
    assert opened.type == "crm.offboarding.offboarding-case-opened.v1"
    assert opened.data["case_id"] == case.case_id
    assert opened.data["category"] == "customer_performance"
    assert (opened.correlationid, opened.causationid) == ("journey-1", "evt-risk-1")
    assert repo.markers["cus-1"].case_id == case.case_id


async def test_the_same_risk_delivered_twice_opens_one_case(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    data, event = risk()

    assert await service.on_risk_detected(data, event) is True
    assert await service.on_risk_detected(data, event) is False
    # Loyalty's relay may republish the same risk under a new id: still the same risk.
    assert await service.on_risk_detected(*risk(event_id="evt-risk-1-again")) is False

    assert len(repo.cases) == 1
    assert types(repo.outbox) == ["offboarding-case-opened"]


async def test_a_second_risk_joins_the_open_case_without_a_new_opening(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    first = await open_case(service)

    added = await service.on_risk_detected(*risk(event_id="evt-risk-2", risk_id="risk-2"))
    again = await service.on_risk_detected(*risk(event_id="evt-risk-2", risk_id="risk-2"))

    case = await service.case(first.case_id)
    assert (added, again) == (True, False)
    assert sorted(case.risks) == ["risk-1", "risk-2"]
    assert case.version == first.version + 1
    assert len(repo.cases) == 1
    assert types(repo.outbox) == ["offboarding-case-opened"]


async def test_other_customers_get_their_own_cases(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    await open_case(service)
    await open_case(service, event_id="evt-risk-9", risk_id="risk-9", customer_id="cus-9")

    assert sorted(c.customer_id for c in repo.cases.values()) == ["cus-1", "cus-9"]


async def test_after_retention_a_new_risk_opens_a_new_case(
    service: OffboardingService, repo: InMemoryOffboardingRepository, clock: ManualClock
) -> None:
    case = await in_negotiation(service)
    await service.conclude_retention(case.case_id, RetentionOutcome(True, "emp-mgr"), "cmd-end")
    assert "cus-1" not in repo.markers
    clock.advance(timedelta(days=90))

    await service.on_risk_detected(*risk(event_id="evt-risk-2", risk_id="risk-2"))

    newest, retained = await service.cases_of("cus-1")
    assert retained.case_id == case.case_id
    assert retained.state is CaseState.RETAINED
    assert list(newest.risks) == ["risk-2"]
    assert types(repo.outbox).count("offboarding-case-opened") == 2
    # The risk that opened the retained case, redelivered late, is still a duplicate.
    assert await service.on_risk_detected(*risk()) is False


async def test_after_an_agreed_exit_new_risks_join_the_exit_case(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    case = await in_negotiation(service, retain=False)
    await service.conclude_exit(case.case_id, EXIT, "cmd-exit")

    await service.on_risk_detected(*risk(event_id="evt-risk-2", risk_id="risk-2"))

    [only] = await service.cases_of("cus-1")
    assert only.state is CaseState.EXIT_AGREED
    assert sorted(only.risks) == ["risk-1", "risk-2"]


async def test_a_marker_whose_case_was_never_written_heals_on_redelivery(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    data, event = risk()
    # Crash after claiming the marker, before the case insert.
    await repo.claim_marker(OpenCaseMarker("cus-1", case_id_for(event.id), event))

    assert await service.on_risk_detected(data, event) is True

    assert (await service.case(case_id_for(event.id))).state is CaseState.ASSESSMENT
    assert types(repo.outbox) == ["offboarding-case-opened"]


async def test_a_later_risk_heals_a_dangling_marker_from_its_seed(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    _, opening = risk()
    await repo.claim_marker(OpenCaseMarker("cus-1", case_id_for(opening.id), opening))

    await service.on_risk_detected(*risk(event_id="evt-risk-2", risk_id="risk-2"))

    case = await service.case(case_id_for(opening.id))
    assert sorted(case.risks) == ["risk-1", "risk-2"]
    [opened] = repo.outbox
    assert opened.causationid == opening.id


async def test_a_republished_risk_heals_the_dangling_marker_and_stays_one_risk(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    _, first = risk()
    # Crash after claiming the marker; loyalty then republishes the risk under a new id.
    await repo.claim_marker(OpenCaseMarker("cus-1", case_id_for(first.id), first))

    assert await service.on_risk_detected(*risk(event_id="evt-risk-1-again")) is False

    [case] = repo.cases.values()
    assert case.case_id == case_id_for(first.id)
    assert list(case.risks) == ["risk-1"]
    assert case.risks["risk-1"].event_id == first.id
    [opened] = repo.outbox
    assert opened.causationid == first.id


async def test_a_stale_marker_of_a_retained_case_is_released_by_the_next_risk(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    case = await in_negotiation(service)
    await service.conclude_retention(case.case_id, RetentionOutcome(False, "emp-mgr"), "cmd-end")
    # Crash between concluding the case and releasing its marker.
    await repo.claim_marker(OpenCaseMarker("cus-1", case.case_id, risk()[1]))

    await service.on_risk_detected(*risk(event_id="evt-risk-2", risk_id="risk-2"))

    assert repo.markers["cus-1"].case_id == case_id_for("evt-risk-2")
    assert (await service.case(case.case_id)).risks.keys() == {"risk-1"}
