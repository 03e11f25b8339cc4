"""The offboarding case state machine: every allowed step, and what a refusal tells you."""

from __future__ import annotations

import itertools

import pytest

from crm_offboarding.lifecycle import (
    TRANSITIONS,
    Action,
    CaseState,
    InvalidTransition,
    Strategy,
    accepts_risks,
    allowed_actions,
    next_state,
)

pytestmark = pytest.mark.unit
S, A = CaseState, Action

# The process as designed (README): written out again so the table cannot drift silently.
ALLOWED: list[tuple[CaseState, Strategy | None, Action, CaseState]] = [
    (S.ASSESSMENT, None, A.RETAIN, S.RETENTION),
    (S.ASSESSMENT, None, A.TERMINATE, S.TERMINATION),
    (S.RETENTION, Strategy.RETAIN, A.RECORD_ROUND, S.NEGOTIATION),
    (S.TERMINATION, Strategy.TERMINATE, A.RECORD_ROUND, S.NEGOTIATION),
    (S.NEGOTIATION, Strategy.RETAIN, A.RECORD_ROUND, S.NEGOTIATION),
    (S.NEGOTIATION, Strategy.TERMINATE, A.RECORD_ROUND, S.NEGOTIATION),
    (S.NEGOTIATION, Strategy.RETAIN, A.CONCLUDE_EXIT, S.EXIT_AGREED),  # offer refused
    (S.NEGOTIATION, Strategy.TERMINATE, A.CONCLUDE_EXIT, S.EXIT_AGREED),
    (S.NEGOTIATION, Strategy.RETAIN, A.CONCLUDE_RETENTION, S.RETAINED),
    # issue 9: the offer lapses, the relationship ends, follow-up, review, closure
    (S.RETENTION, Strategy.RETAIN, A.EXPIRE_OFFER, S.ASSESSMENT),
    (S.NEGOTIATION, Strategy.RETAIN, A.EXPIRE_OFFER, S.ASSESSMENT),
    (S.EXIT_AGREED, Strategy.TERMINATE, A.END_RELATIONSHIP, S.ENDED),
    (S.ENDED, Strategy.TERMINATE, A.END_FOLLOW_UP, S.REVIEW),
    (S.REVIEW, Strategy.TERMINATE, A.RECORD_REVIEW, S.AWAITING_DISPOSAL),
    (S.RETAINED, Strategy.RETAIN, A.RECORD_REVIEW, S.AWAITING_DISPOSAL),
    (S.AWAITING_DISPOSAL, Strategy.TERMINATE, A.CLOSE, S.CLOSED),
]
AUTOMATIC = {A.EXPIRE_OFFER, A.END_RELATIONSHIP, A.END_FOLLOW_UP, A.CLOSE}


@pytest.mark.parametrize(("state", "strategy", "action", "expected"), ALLOWED)
def test_allowed_transition_leads_to_the_designed_state(
    state: CaseState, strategy: Strategy | None, action: Action, expected: CaseState
) -> None:
    assert next_state(state, strategy, action) is expected
    # The clock's and the attestations' moves are possible but not offered to a person.
    assert (action in allowed_actions(state, strategy)) is (action not in AUTOMATIC)


def test_the_table_holds_exactly_the_designed_transitions() -> None:
    table = {(s, a, n) for s, row in TRANSITIONS.items() for a, n in row.items()}
    assert table == {(s, a, n) for s, _, a, n in ALLOWED}
    assert set(TRANSITIONS) == set(CaseState)  # every state has a row, even a final one


@pytest.mark.parametrize(
    ("state", "strategy", "action", "allowed"),
    [
        (S.ASSESSMENT, None, A.CONCLUDE_EXIT, [A.RETAIN, A.TERMINATE]),
        (S.ASSESSMENT, None, A.RECORD_ROUND, [A.RETAIN, A.TERMINATE]),
        (S.RETENTION, Strategy.RETAIN, A.CONCLUDE_RETENTION, [A.RECORD_ROUND]),
        (S.RETENTION, Strategy.RETAIN, A.TERMINATE, [A.RECORD_ROUND]),
        (S.TERMINATION, Strategy.TERMINATE, A.CONCLUDE_EXIT, [A.RECORD_ROUND]),
        (
            S.NEGOTIATION,
            Strategy.TERMINATE,
            A.CONCLUDE_RETENTION,
            [A.RECORD_ROUND, A.CONCLUDE_EXIT],
        ),
        (
            S.NEGOTIATION,
            Strategy.RETAIN,
            A.RETAIN,
            [A.RECORD_ROUND, A.CONCLUDE_EXIT, A.CONCLUDE_RETENTION],
        ),
        (S.EXIT_AGREED, Strategy.TERMINATE, A.RECORD_ROUND, []),
        (S.RETAINED, Strategy.RETAIN, A.CONCLUDE_EXIT, [A.RECORD_REVIEW]),
        (S.REVIEW, Strategy.TERMINATE, A.RECORD_ROUND, [A.RECORD_REVIEW]),
        (S.CLOSED, Strategy.TERMINATE, A.RECORD_REVIEW, []),
    ],
)
def test_disallowed_transition_is_a_409_listing_the_allowed_actions(
    state: CaseState, strategy: Strategy | None, action: Action, allowed: list[Action]
) -> None:
    with pytest.raises(InvalidTransition) as refused:
        next_state(state, strategy, action)

    assert refused.value.http_status == 409
    assert refused.value.reason == f"cannot {action.value} from {state.value}"
    assert refused.value.state is state
    assert refused.value.allowed == allowed


def test_every_pair_outside_the_table_is_refused() -> None:
    allowed = {(s, a) for s, _, a, _ in ALLOWED}
    for state, action in itertools.product(CaseState, Action):
        if (state, action) in allowed:
            continue
        with pytest.raises(InvalidTransition):
            next_state(state, Strategy.RETAIN, action)


def test_offer_expiry_needs_the_retain_strategy() -> None:
    with pytest.raises(InvalidTransition):
        next_state(S.NEGOTIATION, Strategy.TERMINATE, A.EXPIRE_OFFER)


def test_retained_reviewed_and_closed_cases_stop_collecting_risks() -> None:
    refusing = [s for s in CaseState if not accepts_risks(s)]
    assert refusing == [S.RETAINED, S.AWAITING_DISPOSAL, S.CLOSED]
    assert accepts_risks(S.ENDED)  # follow-up service: a new signal still joins the case
    assert accepts_risks(S.EXIT_AGREED)  # the customer is still being offboarded
