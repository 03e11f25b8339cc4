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
]


@pytest.mark.parametrize(("state", "strategy", "action", "expected"), ALLOWED)
def test_allowed_transition_leads_to_the_designed_state(
    state: CaseState, strategy: Strategy | None, action: Action, expected: CaseState
) -> None:
    assert next_state(state, strategy, action) is expected
    assert action in allowed_actions(state, strategy)


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
        (S.RETAINED, Strategy.RETAIN, A.CONCLUDE_EXIT, []),
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


def test_only_a_retained_case_stops_collecting_risks() -> None:
    assert [s for s in CaseState if not accepts_risks(s)] == [S.RETAINED]
    assert accepts_risks(S.EXIT_AGREED)  # the customer is still being offboarded
