"""The offboarding case state machine as data: state -> {action -> next state}.

Later issues (data disposal, follow-up service period, lessons-learned review, closed) add
rows and columns here; no code elsewhere needs to learn the shape of the process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum

from crm_runtime.errors import Conflict


class CaseState(StrEnum):
    ASSESSMENT = "assessment"
    RETENTION = "retention"
    TERMINATION = "termination"
    NEGOTIATION = "negotiation"
    EXIT_AGREED = "exit_agreed"
    RETAINED = "retained"
    ENDED = "relationship_ended"  # effective date passed: follow-up service, disposal
    REVIEW = "review"  # follow-up period over: the lessons-learned review is asked for
    AWAITING_DISPOSAL = "awaiting_disposal"  # reviewed; closes with the last attestation
    CLOSED = "closed"


class Strategy(StrEnum):
    RETAIN = "retain"
    TERMINATE = "terminate"


class Action(StrEnum):
    """What a person can do to a case; each action is one HTTP command (see the README)."""

    RETAIN = "retain"  # POST /cases/{id}/strategy {"strategy": "retain", ...}
    TERMINATE = "terminate"  # POST /cases/{id}/strategy {"strategy": "terminate", ...}
    RECORD_ROUND = "record-round"  # POST /cases/{id}/negotiation-rounds
    CONCLUDE_EXIT = "conclude-exit"  # POST /cases/{id}/exit
    CONCLUDE_RETENTION = "conclude-retention"  # POST /cases/{id}/retention
    RECORD_REVIEW = "record-review"  # POST /cases/{id}/review
    # Moved by the clock or by other services' attestations, never by a person:
    EXPIRE_OFFER = "expire-offer"  # the retention offer's valid_until passed
    END_RELATIONSHIP = "end-relationship"  # the exit's effective date came
    END_FOLLOW_UP = "end-follow-up"  # the follow-up service period is over
    CLOSE = "close"  # reviewed and every expected service attested its erasure


AUTOMATIC: frozenset[Action] = frozenset(
    {Action.EXPIRE_OFFER, Action.END_RELATIONSHIP, Action.END_FOLLOW_UP, Action.CLOSE}
)


TRANSITIONS: Mapping[CaseState, Mapping[Action, CaseState]] = {
    CaseState.ASSESSMENT: {
        Action.RETAIN: CaseState.RETENTION,
        Action.TERMINATE: CaseState.TERMINATION,
    },
    CaseState.RETENTION: {
        Action.RECORD_ROUND: CaseState.NEGOTIATION,
        Action.EXPIRE_OFFER: CaseState.ASSESSMENT,
    },
    CaseState.TERMINATION: {Action.RECORD_ROUND: CaseState.NEGOTIATION},
    CaseState.NEGOTIATION: {
        Action.RECORD_ROUND: CaseState.NEGOTIATION,
        # Signing follows at least one round (the case study negotiates, then signs); a
        # customer who refuses the retention offer also ends here.
        Action.CONCLUDE_EXIT: CaseState.EXIT_AGREED,
        Action.CONCLUDE_RETENTION: CaseState.RETAINED,
        # The offer lapsed unanswered: back to choosing a strategy (a new offer or an exit).
        Action.EXPIRE_OFFER: CaseState.ASSESSMENT,
    },
    CaseState.EXIT_AGREED: {Action.END_RELATIONSHIP: CaseState.ENDED},
    CaseState.RETAINED: {Action.RECORD_REVIEW: CaseState.AWAITING_DISPOSAL},
    CaseState.ENDED: {Action.END_FOLLOW_UP: CaseState.REVIEW},
    CaseState.REVIEW: {Action.RECORD_REVIEW: CaseState.AWAITING_DISPOSAL},
    CaseState.AWAITING_DISPOSAL: {Action.CLOSE: CaseState.CLOSED},
    CaseState.CLOSED: {},
}

# Conditions beyond the state: once the company decided to terminate, the case cannot end
# in retention (that would need a revised strategy, which is not an action yet).
GUARDS: Mapping[Action, Callable[[Strategy | None], bool]] = {
    Action.CONCLUDE_RETENTION: lambda strategy: strategy is Strategy.RETAIN,
    Action.EXPIRE_OFFER: lambda strategy: strategy is Strategy.RETAIN,
}

# States in which the customer holds the "open case" marker: a new RiskDetected is added
# to the case instead of opening another. A concluded exit keeps the customer offboarding
# until the case is closed; a retained case released the marker when it concluded.
MARKER_STATES: frozenset[CaseState] = frozenset(
    set(CaseState) - {CaseState.RETAINED, CaseState.AWAITING_DISPOSAL, CaseState.CLOSED}
)
# States in which the case is still somebody's work (the default work queue).
OPEN_STATES: frozenset[CaseState] = frozenset(set(CaseState) - {CaseState.CLOSED})


class InvalidTransition(Conflict):
    """HTTP 409 whose body also lists what may be done from the current state."""

    def __init__(self, action: Action, state: CaseState, allowed: list[Action]) -> None:
        # The runtime renders the details into the 409 body beside "detail".
        super().__init__(
            f"cannot {action.value} from {state.value}",
            state=state.value,
            allowed=[a.value for a in allowed],
        )
        self.action = action
        self.state = state
        self.allowed = allowed


def allowed_actions(state: CaseState, strategy: Strategy | None) -> list[Action]:
    """What a person may do now (the clock's and the attestations' moves are not listed)."""
    return [a for a in possible_actions(state, strategy) if a not in AUTOMATIC]


def possible_actions(state: CaseState, strategy: Strategy | None) -> list[Action]:
    return [action for action in TRANSITIONS[state] if _guard(action)(strategy)]


def _guard(action: Action) -> Callable[[Strategy | None], bool]:
    return GUARDS.get(action, _always)


def _always(_: Strategy | None) -> bool:
    return True


def next_state(state: CaseState, strategy: Strategy | None, action: Action) -> CaseState:
    if action not in possible_actions(state, strategy):
        raise InvalidTransition(action, state, allowed_actions(state, strategy))
    return TRANSITIONS[state][action]


def accepts_risks(state: CaseState) -> bool:
    return state in MARKER_STATES
