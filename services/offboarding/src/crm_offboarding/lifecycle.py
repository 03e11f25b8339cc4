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


TRANSITIONS: Mapping[CaseState, Mapping[Action, CaseState]] = {
    CaseState.ASSESSMENT: {
        Action.RETAIN: CaseState.RETENTION,
        Action.TERMINATE: CaseState.TERMINATION,
    },
    CaseState.RETENTION: {Action.RECORD_ROUND: CaseState.NEGOTIATION},
    CaseState.TERMINATION: {Action.RECORD_ROUND: CaseState.NEGOTIATION},
    CaseState.NEGOTIATION: {
        Action.RECORD_ROUND: CaseState.NEGOTIATION,
        # Signing follows at least one round (the case study negotiates, then signs); a
        # customer who refuses the retention offer also ends here.
        Action.CONCLUDE_EXIT: CaseState.EXIT_AGREED,
        Action.CONCLUDE_RETENTION: CaseState.RETAINED,
    },
    CaseState.EXIT_AGREED: {},
    CaseState.RETAINED: {},
}

# Conditions beyond the state: once the company decided to terminate, the case cannot end
# in retention (that would need a revised strategy, which is not an action yet).
GUARDS: Mapping[Action, Callable[[Strategy | None], bool]] = {
    Action.CONCLUDE_RETENTION: lambda strategy: strategy is Strategy.RETAIN,
}

# States in which the customer holds the "open case" marker: a new RiskDetected is added
# to the case instead of opening another. A concluded exit keeps the customer offboarding.
MARKER_STATES: frozenset[CaseState] = frozenset(set(CaseState) - {CaseState.RETAINED})


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
    return [action for action in TRANSITIONS[state] if _guard(action)(strategy)]


def _guard(action: Action) -> Callable[[Strategy | None], bool]:
    return GUARDS.get(action, _always)


def _always(_: Strategy | None) -> bool:
    return True


def next_state(state: CaseState, strategy: Strategy | None, action: Action) -> CaseState:
    allowed = allowed_actions(state, strategy)
    if action not in allowed:
        raise InvalidTransition(action, state, allowed)
    return TRANSITIONS[state][action]


def accepts_risks(state: CaseState) -> bool:
    return state in MARKER_STATES
