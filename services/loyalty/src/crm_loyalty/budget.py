"""The programme's budget per period: one aggregate per period (``budget-<period>``) that
every award reserves from before the account decides it. Pure decisions.

The reservation is keyed by the fact's event id (a redelivery finds it and gets the same
grant); what was reserved is the most the account's decision may credit for that fact. The
amount requested is what the fact would earn on the account as last stored, so within one
poll a tier change staged by an earlier fact of the same member can leave the grant a little
short (the entry then says the budget capped it) — never beyond the budget.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from crm_loyalty import awards
from crm_loyalty.domain import Account
from crm_loyalty.earning import Fact, period_of
from crm_loyalty.rulebook import Cap, RuleBook
from crm_loyalty.rules import EarningRules
from crm_runtime.keys import map_key
from crm_runtime.store import AggregateStore, Decision


@dataclass
class Budget:
    period: str
    limit: int  # as the book said at the last reservation
    granted: int
    until: datetime
    reservations: dict[str, int] = field(default_factory=dict)

    @property
    def left(self) -> int:
        return max(self.limit - self.granted, 0)


def budget_id(cap: Cap, at: datetime) -> str:
    return f"budget-{period_of(cap.period, at)[0]}"


def reserve(
    state: Budget | None, *, event_id: str, requested: int, cap: Cap, at: datetime
) -> Decision[Budget]:
    """Grant up to ``requested`` from what is left (the book's current limit)."""
    key, until = period_of(cap.period, at)
    budget = copy.deepcopy(state) or Budget(key, cap.points, 0, until)
    if map_key(event_id) in budget.reservations:
        return Decision()
    budget.limit = cap.points
    granted = min(requested, budget.left)
    budget.granted += granted
    budget.reservations[map_key(event_id)] = granted
    return Decision(state=budget)


def granted(state: Budget | None, event_id: str) -> int | None:
    return None if state is None else state.reservations.get(map_key(event_id))


class Budgets:
    """Reserves each award's share of the programme budget (only when the book has one)."""

    def __init__(
        self,
        store: AggregateStore[Budget],
        accounts: AggregateStore[Account],
        rules: EarningRules,
    ) -> None:
        self.store = store
        self._accounts = accounts
        self._rules = rules

    async def grant(self, customer_id: str, fact: Fact, book: RuleBook) -> int | None:
        """The most this fact may credit (None: no budget applies)."""
        cap = book.budget
        if cap is None:
            return None
        account = await self._accounts.get(customer_id)
        if account is None or not account.is_open:
            return None  # parked until registered, or earning nothing anyway
        tiered = replace(fact, fields={**fact.fields, "tier": account.tier})
        outcome, _ = awards.outcome_for(account, tiered, book, self._rules)
        if not outcome.awards:
            return None
        requested = outcome.points
        decide: Callable[[Budget | None], Decision[Budget]] = lambda s: reserve(  # noqa: E731
            s, event_id=fact.event_id, requested=requested, cap=cap, at=fact.at
        )
        applied = await self.store.apply(budget_id(cap, fact.at), fact.event_id, decide)
        return granted(applied.state, fact.event_id) or 0

    async def current(self, book: RuleBook, now: datetime) -> Budget | None:
        if book.budget is None:
            return None
        return await self.store.get(budget_id(book.budget, now))
