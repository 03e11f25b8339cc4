"""Offboarding case commands over the in-memory aggregate store (fixture ``offb``,
tests/unit/offboarding_plugin.py). Risk intake lives in test_offboarding_intake.py, races
and crashes in test_offboarding_races.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crm_offboarding.domain import ExitAgreement, NegotiationRound, RetentionOffer, RetentionOutcome
from crm_offboarding.lifecycle import Action, CaseState, InvalidTransition
from crm_runtime.errors import DomainError, NotFound
from tests.unit.offboarding_plugin import EXIT, NOW, OFFER, PLAN, ROUND, Offboarding, types

pytestmark = pytest.mark.unit


# --- commands ---------------------------------------------------------------------------
async def test_retain_strategy_records_the_offer_and_publishes_it(offb: Offboarding) -> None:
    case = await offb.open_case()

    retained = await offb.service.choose_retention(case.case_id, OFFER, "cmd-1")

    assert retained.state is CaseState.RETENTION
    assert retained.offer == OFFER
    offer = offb.outbox()[-1]
    assert types([offer]) == ["retention-offer-made"]
    assert offer.data["value_minor"] == 15_000
    assert offer.data["made_by"] == "emp-mgr"
    assert (offer.correlationid, offer.causationid) == ("journey-1", case.last_event_id)


async def test_terminate_strategy_is_recorded_without_an_event(offb: Offboarding) -> None:
    case = await offb.open_case()

    terminated = await offb.service.choose_termination(case.case_id, PLAN, "cmd-1")

    assert terminated.state is CaseState.TERMINATION
    assert terminated.termination == PLAN
    assert terminated.last_event_id == case.last_event_id
    assert types(offb.outbox()) == ["offboarding-case-opened"]


async def test_rounds_are_numbered_and_a_repeated_command_records_one(offb: Offboarding) -> None:
    case = await offb.in_negotiation()
    again = await offb.service.record_round(case.case_id, ROUND, "cmd-round-1")
    second = await offb.service.record_round(case.case_id, ROUND, "cmd-round-2")

    assert again.version == case.version
    assert sorted(second.rounds) == [1, 2]
    assert second.rounds[1].held_at == NOW
    rounds = [e for e in offb.outbox() if types([e]) == ["negotiation-round-held"]]
    assert [e.data["round"] for e in rounds] == [1, 2]
    assert rounds[1].causationid == rounds[0].id


async def test_exit_agreement_ends_the_causation_chain_of_the_journey(offb: Offboarding) -> None:
    case = await offb.in_negotiation(retain=False)

    agreed = await offb.service.conclude_exit(case.case_id, EXIT, "cmd-exit")

    assert agreed.state is CaseState.EXIT_AGREED
    assert agreed.exit_agreement == EXIT
    assert agreed.concluded_at == NOW
    opened, held, exit_agreed = offb.outbox()
    assert types(offb.outbox()) == [
        "offboarding-case-opened",
        "negotiation-round-held",
        "exit-agreed",
    ]
    assert {e.correlationid for e in offb.outbox()} == {"journey-1"}
    assert (held.causationid, exit_agreed.causationid) == (opened.id, held.id)
    assert exit_agreed.data["terms"] == EXIT.terms
    assert exit_agreed.data["compensation_minor"] == 4_000
    assert offb.open_case_id() == case.case_id  # still offboarding


async def test_retention_releases_the_marker_and_publishes(offb: Offboarding) -> None:
    case = await offb.in_negotiation()

    retained = await offb.service.conclude_retention(
        case.case_id, RetentionOutcome(True, "emp-mgr"), "cmd-end"
    )
    again = await offb.service.conclude_retention(
        case.case_id, RetentionOutcome(True, "emp-mgr"), "cmd-end"
    )

    assert retained.state is again.state is CaseState.RETAINED
    assert types(offb.outbox())[-1] == "customer-retained"
    assert offb.outbox()[-1].data == {
        "case_id": case.case_id,
        "customer_id": "cus-1",
        "offer_accepted": True,
        "retained_by": "emp-mgr",
    }
    assert types(offb.outbox()).count("customer-retained") == 1
    assert offb.open_case_id() is None


async def test_an_illegal_step_is_refused_with_the_allowed_ones(offb: Offboarding) -> None:
    case = await offb.open_case()

    with pytest.raises(InvalidTransition) as refused:
        await offb.service.conclude_exit(case.case_id, EXIT, "cmd-exit")

    assert refused.value.allowed == [Action.RETAIN, Action.TERMINATE]
    assert (await offb.service.case(case.case_id)).version == case.version
    assert types(offb.outbox()) == ["offboarding-case-opened"]


async def test_a_termination_cannot_end_in_retention(offb: Offboarding) -> None:
    case = await offb.in_negotiation(retain=False)

    with pytest.raises(InvalidTransition) as refused:
        await offb.service.conclude_retention(case.case_id, RetentionOutcome(False, "m"), "cmd-x")

    assert refused.value.allowed == [Action.RECORD_ROUND, Action.CONCLUDE_EXIT]


async def test_commands_check_their_terms_and_a_refusal_changes_nothing(offb: Offboarding) -> None:
    case = await offb.open_case()
    lapsed = RetentionOffer("x", 1, "EUR", NOW - timedelta(seconds=1), "emp-mgr")
    with pytest.raises(DomainError, match="valid_until"):
        await offb.service.choose_retention(case.case_id, lapsed, "cmd-1")

    case = await offb.in_negotiation()
    future = NegotiationRound("phone", ["e"], "continue", held_at=NOW + timedelta(hours=1))
    with pytest.raises(DomainError, match="held_at"):
        await offb.service.record_round(case.case_id, future, "cmd-r")
    backwards = ExitAgreement(NOW, 0, "EUR", "t", "e", follow_up_until=NOW - timedelta(days=1))
    with pytest.raises(DomainError, match="follow_up_until"):
        await offb.service.conclude_exit(case.case_id, backwards, "cmd-e")
    offb.clock.advance(timedelta(days=15))
    with pytest.raises(DomainError, match="lapsed"):
        await offb.service.conclude_retention(case.case_id, RetentionOutcome(True, "e"), "cmd-t")

    assert await offb.service.case(case.case_id) == case
    assert "negotiation-round-held" in types(offb.outbox())
    assert not {"exit-agreed", "customer-retained"} & set(types(offb.outbox()))
    assert [e.data["round"] for e in offb.outbox() if e.data.get("round")] == [1]
    assert offb.open_case_id() == case.case_id


async def test_unknown_case_is_not_found(offb: Offboarding) -> None:
    with pytest.raises(NotFound):
        await offb.service.record_round("obc-nope", ROUND, "cmd-1")


def test_idempotency_key_gives_the_same_event_id(offb: Offboarding) -> None:
    first = offb.service.event_id("record-round", "obc-1", "key-1")
    assert first == offb.service.event_id("record-round", "obc-1", "key-1")
    assert first != offb.service.event_id("record-round", "obc-2", "key-1")
    assert first != offb.service.event_id("conclude-exit", "obc-1", "key-1")
    assert offb.service.event_id("record-round", "obc-1", None) != offb.service.event_id(
        "record-round", "obc-1", None
    )
