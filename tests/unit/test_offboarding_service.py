"""Offboarding case commands with the in-memory repository; shared unit-test helpers.

Risk intake lives in test_offboarding_intake.py, races and crashes in
test_offboarding_races.py; both import the helpers below."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from crm_events import CloudEvent
from crm_events.common import RiskCategory
from crm_events.loyalty import RiskDetected
from crm_offboarding.domain import (
    Case,
    ExitAgreement,
    NegotiationRound,
    RetentionOffer,
    RetentionOutcome,
    TerminationPlan,
    case_id_for,
)
from crm_offboarding.lifecycle import Action, CaseState, InvalidTransition
from crm_offboarding.memory import InMemoryOffboardingRepository
from crm_offboarding.service import OffboardingService
from crm_runtime.clock import ManualClock
from crm_runtime.errors import DomainError, NotFound

pytestmark = pytest.mark.unit
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OFFER = RetentionOffer(
    offer="Three months at half price",
    value_minor=15_000,
    currency="EUR",
    valid_until=NOW + timedelta(days=14),
    made_by="emp-mgr",
)
PLAN = TerminationPlan(
    compensation_minor=5_000, currency="EUR", reason="strategy change", decided_by="emp-mgr"
)
ROUND = NegotiationRound(channel="meeting", participants=["emp-mgr"], outcome="continue")
EXIT = ExitAgreement(
    effective_date=NOW + timedelta(days=30),
    compensation_minor=4_000,
    currency="EUR",
    terms="Orderly exit; open invoices settled.",
    agreed_by="emp-mgr",
)


@pytest.fixture(name="clock")
def clock_fixture() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(name="repo")
def repo_fixture() -> InMemoryOffboardingRepository:
    return InMemoryOffboardingRepository()


@pytest.fixture(name="service")
def service_fixture(repo: InMemoryOffboardingRepository, clock: ManualClock) -> OffboardingService:
    return OffboardingService(repo, clock, source="/crm/offboarding")


def risk(
    event_id: str = "evt-risk-1", risk_id: str = "risk-1", customer_id: str = "cus-1"
) -> tuple[RiskDetected, CloudEvent]:
    data = RiskDetected(
        customer_id=customer_id,
        risk_id=risk_id,
        category=RiskCategory.CUSTOMER_PERFORMANCE,
        reasons=["payment 20 days overdue"],
        score=31,
        hard_signal="crm.inbound.payment-overdue.v1",
    )
    return data, data.to_event(
        source="/crm/loyalty", event_id=event_id, time=NOW, correlation_id="journey-1"
    )


def types(events: Sequence[CloudEvent]) -> list[str]:
    return [e.type.split(".")[2] for e in events]


async def open_case(service: OffboardingService, **kwargs: str) -> Case:
    data, event = risk(**kwargs)
    await service.on_risk_detected(data, event)
    return await service.case(case_id_for(event.id))


async def in_negotiation(service: OffboardingService, *, retain: bool = True) -> Case:
    case = await open_case(service)
    if retain:
        await service.choose_retention(case.case_id, OFFER, "cmd-strategy")
    else:
        await service.choose_termination(case.case_id, PLAN, "cmd-strategy")
    return await service.record_round(case.case_id, ROUND, "cmd-round-1")


# --- commands ---------------------------------------------------------------------------
async def test_retain_strategy_records_the_offer_and_publishes_it(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    case = await open_case(service)

    retained = await service.choose_retention(case.case_id, OFFER, "cmd-1")

    assert retained.state is CaseState.RETENTION
    assert retained.offer == OFFER
    offer = repo.outbox[-1]
    assert types([offer]) == ["retention-offer-made"]
    assert offer.data["value_minor"] == 15_000
    assert offer.data["made_by"] == "emp-mgr"
    assert (offer.correlationid, offer.causationid) == ("journey-1", case.last_event_id)


async def test_terminate_strategy_is_recorded_without_an_event(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    case = await open_case(service)

    terminated = await service.choose_termination(case.case_id, PLAN, "cmd-1")

    assert terminated.state is CaseState.TERMINATION
    assert terminated.termination == PLAN
    assert terminated.last_event_id == case.last_event_id
    assert types(repo.outbox) == ["offboarding-case-opened"]


async def test_rounds_are_numbered_and_a_repeated_command_records_one(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    case = await in_negotiation(service)
    again = await service.record_round(case.case_id, ROUND, "cmd-round-1")
    second = await service.record_round(case.case_id, ROUND, "cmd-round-2")

    assert again.version == case.version
    assert sorted(second.rounds) == [1, 2]
    assert second.rounds[1].held_at == NOW
    rounds = [e for e in repo.outbox if types([e]) == ["negotiation-round-held"]]
    assert [e.data["round"] for e in rounds] == [1, 2]
    assert rounds[1].causationid == rounds[0].id


async def test_exit_agreement_ends_the_causation_chain_of_the_journey(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    case = await in_negotiation(service, retain=False)

    agreed = await service.conclude_exit(case.case_id, EXIT, "cmd-exit")

    assert agreed.state is CaseState.EXIT_AGREED
    assert agreed.exit_agreement == EXIT
    assert agreed.concluded_at == NOW
    opened, held, exit_agreed = repo.outbox
    assert types(repo.outbox) == [
        "offboarding-case-opened",
        "negotiation-round-held",
        "exit-agreed",
    ]
    assert {e.correlationid for e in repo.outbox} == {"journey-1"}
    assert (held.causationid, exit_agreed.causationid) == (opened.id, held.id)
    assert exit_agreed.data["terms"] == EXIT.terms
    assert exit_agreed.data["compensation_minor"] == 4_000
    assert repo.markers["cus-1"].case_id == case.case_id  # still offboarding


async def test_retention_releases_the_marker_and_publishes(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    case = await in_negotiation(service)

    retained = await service.conclude_retention(
        case.case_id, RetentionOutcome(True, "emp-mgr"), "cmd-end"
    )
    again = await service.conclude_retention(
        case.case_id, RetentionOutcome(True, "emp-mgr"), "cmd-end"
    )

    assert retained.state is again.state is CaseState.RETAINED
    assert types(repo.outbox)[-1] == "customer-retained"
    assert repo.outbox[-1].data == {
        "case_id": case.case_id,
        "customer_id": "cus-1",
        "offer_accepted": True,
        "retained_by": "emp-mgr",
    }
    assert types(repo.outbox).count("customer-retained") == 1
    assert "cus-1" not in repo.markers


async def test_an_illegal_step_is_refused_with_the_allowed_ones(
    service: OffboardingService, repo: InMemoryOffboardingRepository
) -> None:
    case = await open_case(service)

    with pytest.raises(InvalidTransition) as refused:
        await service.conclude_exit(case.case_id, EXIT, "cmd-exit")

    assert refused.value.allowed == [Action.RETAIN, Action.TERMINATE]
    assert (await service.case(case.case_id)).version == case.version
    assert types(repo.outbox) == ["offboarding-case-opened"]


async def test_a_termination_cannot_end_in_retention(service: OffboardingService) -> None:
    case = await in_negotiation(service, retain=False)

    with pytest.raises(InvalidTransition) as refused:
        await service.conclude_retention(case.case_id, RetentionOutcome(False, "m"), "cmd-x")

    assert refused.value.allowed == [Action.RECORD_ROUND, Action.CONCLUDE_EXIT]


async def test_commands_check_their_terms_and_a_refusal_changes_nothing(
    service: OffboardingService, repo: InMemoryOffboardingRepository, clock: ManualClock
) -> None:
    case = await open_case(service)
    lapsed = RetentionOffer("x", 1, "EUR", NOW - timedelta(seconds=1), "emp-mgr")
    with pytest.raises(DomainError, match="valid_until"):
        await service.choose_retention(case.case_id, lapsed, "cmd-1")

    case = await in_negotiation(service)
    future = NegotiationRound("phone", ["e"], "continue", held_at=NOW + timedelta(hours=1))
    with pytest.raises(DomainError, match="held_at"):
        await service.record_round(case.case_id, future, "cmd-r")
    backwards = ExitAgreement(NOW, 0, "EUR", "t", "e", follow_up_until=NOW - timedelta(days=1))
    with pytest.raises(DomainError, match="follow_up_until"):
        await service.conclude_exit(case.case_id, backwards, "cmd-e")
    clock.advance(timedelta(days=15))
    with pytest.raises(DomainError, match="lapsed"):
        await service.conclude_retention(case.case_id, RetentionOutcome(True, "e"), "cmd-t")

    assert await service.case(case.case_id) == case
    assert "negotiation-round-held" in types(repo.outbox)
    assert not {"exit-agreed", "customer-retained"} & set(types(repo.outbox))
    assert [e.data["round"] for e in repo.outbox if e.data.get("round")] == [1]
    assert repo.markers["cus-1"].case_id == case.case_id


async def test_unknown_case_is_not_found(service: OffboardingService) -> None:
    with pytest.raises(NotFound):
        await service.record_round("obc-nope", ROUND, "cmd-1")


def test_idempotency_key_gives_the_same_event_id(service: OffboardingService) -> None:
    first = service.event_id("record-round", "obc-1", "key-1")
    assert first == service.event_id("record-round", "obc-1", "key-1")
    assert first != service.event_id("record-round", "obc-2", "key-1")
    assert first != service.event_id("conclude-exit", "obc-1", "key-1")
    assert service.event_id("record-round", "obc-1", None) != service.event_id(
        "record-round", "obc-1", None
    )
