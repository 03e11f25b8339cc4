"""Use cases of the points side: accounts, earning, reversal, redemption, settlement.

Each is one ``store.apply`` on the customer's account: the decision (``decisions``) returns
the new account, the events and the ledger entry with its final state; the entry travels in
the version-guarded account write (with the applied marker and the outbox) and is inserted
into the ledger right after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from crm_events import CloudEvent
from crm_events.contacts import CustomerProfileUpdated, CustomerRegistered
from crm_events.inbound import PurchaseRecorded, PurchaseReturned
from crm_events.offboarding import ExitAgreed, RelationshipEnded
from crm_loyalty import codec, decisions, decisions_programme, goodwill, translate
from crm_loyalty.awards import purchase_fact
from crm_loyalty.budget import Budgets
from crm_loyalty.domain import (
    GOODWILL,
    GOODWILL_DEBIT,
    REDEEM,
    Account,
    LedgerEntry,
    OrderRecord,
    entry_id,
)
from crm_loyalty.programme import RuleBooks
from crm_loyalty.rules import Rules
from crm_loyalty.weights import Weights
from crm_runtime.clock import Clock
from crm_runtime.errors import Conflict, NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.store import AggregateConflict, AggregateStore, Decision


@dataclass(frozen=True)
class Redemption:
    points: int
    reward: str
    reference: str | None = None


@dataclass(frozen=True)
class Redeemed:
    entry: LedgerEntry
    balance: int  # the account balance after the request (now, on a replay)


class LoyaltyService:
    def __init__(
        self,
        accounts: AggregateStore[Account],
        clock: Clock,
        *,
        rules: Rules,
        source: str,
        books: RuleBooks,
        budgets: Budgets,
        weights: Weights,
    ) -> None:
        self.accounts = accounts
        self._clock = clock
        self._rules = rules
        self._source = source
        self.books = books
        self.budgets = budgets
        self.weights = weights

    # --- consumed events -------------------------------------------------------------
    async def on_customer_registered(self, data: CustomerRegistered, event: CloudEvent) -> bool:
        return await self._decide(translate.registration(data, event), decisions.register)

    async def on_profile_updated(self, data: CustomerProfileUpdated, event: CloudEvent) -> bool:
        fact = translate.profile(data, event)
        if fact.date_of_birth is None:
            return False  # nothing loyalty keeps changed
        now, source = self._clock.now(), self._source
        decide: decisions.Decide = lambda s: decisions_programme.profile_updated(  # noqa: E731
            s, fact, now=now, source=source
        )
        return (await self.accounts.apply(fact.customer_id, fact.event_id, decide)).applied

    async def on_purchase_recorded(self, data: PurchaseRecorded, event: CloudEvent) -> bool:
        fact = translate.purchase(data, event)
        legacy = await self._legacy_order(fact.customer_id, fact.order_id)
        book = await self.books.current()
        budget = await self.budgets.grant(fact.customer_id, purchase_fact(fact, ""), book)
        health = await self.weights.rules(self._rules.health)
        now, rules, source = self._clock.now(), replace(self._rules, health=health), self._source
        decide: decisions.Decide = lambda s: decisions.earn(  # noqa: E731
            s,
            fact,
            rules=rules,
            book=book,
            now=now,
            source=source,
            legacy=legacy,
            budget_left=budget,
        )
        return (await self.accounts.apply(fact.customer_id, fact.event_id, decide)).applied

    async def on_purchase_returned(self, data: PurchaseReturned, event: CloudEvent) -> bool:
        fact = translate.return_(data, event)
        legacy = await self._legacy_order(fact.customer_id, fact.order_id)
        return await self._decide(fact, decisions.reverse, legacy=legacy)

    async def on_exit_agreed(self, data: ExitAgreed, event: CloudEvent) -> bool:
        if self._rules.settlement.settle_at != "exit_agreed":
            return False  # settled when the relationship ends (SETTLE_AT)
        return await self._decide(translate.exit_agreed(data, event), decisions.settle)

    async def on_relationship_ended(self, data: RelationshipEnded, event: CloudEvent) -> bool:
        """Recorded on the account; settles now when so configured, or if the exit was
        never seen."""
        fact = translate.relationship_ended(data, event)
        return await self._decide(fact, decisions.end_relationship, ended_at=data.ended_at)

    async def _decide(
        self, fact: translate.AccountFact, decision: Callable[..., Decision[Account]], **extra: Any
    ) -> bool:
        """``decision(state, fact, rules=, now=, source=, **extra)`` on the fact's account."""
        now, rules, source = self._clock.now(), self._rules, self._source
        decide: decisions.Decide = lambda s: decision(  # noqa: E731
            s, fact, rules=rules, now=now, source=source, **extra
        )
        return (await self.accounts.apply(fact.customer_id, fact.event_id, decide)).applied

    async def _legacy_order(self, customer_id: str, order_id: str) -> OrderRecord | None:
        """The order from the ledger, for accounts stored before they kept their orders (the
        decision prefers the account's own record, also the one staged in a batch). An
        account that knows all its orders needs no ledger query: inside a poll it is read
        from the batch's copy, without a round trip."""
        account = await self.accounts.get(customer_id)
        if account is None or account.orders_complete:
            return None
        entries = await codec.order_entries(self.accounts.backend, customer_id, order_id)
        return decisions.legacy_order(entries)

    # --- commands (HTTP) ---------------------------------------------------------------
    def request_id(self, customer_id: str, idempotency_key: str | None) -> str:
        return command_event_id(self._source, "redeem", customer_id, idempotency_key)

    async def redeem(self, customer_id: str, request: Redemption, request_id: str) -> Redeemed:
        """The request id is the applied marker and the entry's id. A replay of the same
        request answers from its entry; a different request under the key is refused; a
        request whose decision never landed (refused, or every attempt lost its race) left
        no entry, so it may be sent again. The entry is inserted right after the account
        write that carries it (a crash between the two: the next apply inserts it)."""
        account = await self.account(customer_id)
        stored = await codec.entry(self.accounts.backend, entry_id(REDEEM, request_id))
        if stored is not None:
            _check_same_request(stored, request)
            return Redeemed(entry=stored, balance=account.balance)
        now, rules, source = self._clock.now(), self._rules, self._source
        candidate = decisions.redemption_entry(
            customer_id, request.points, request.reward, request.reference, request_id, now
        )
        decide: decisions.Decide = lambda s: decisions.redeem(  # noqa: E731
            s, candidate, rules=rules, now=now, source=source
        )
        try:
            applied = await self.accounts.apply(customer_id, request_id, decide)
        except AggregateConflict as exc:
            raise Conflict("the account is being updated concurrently; retry") from exc
        entry = await codec.entry(self.accounts.backend, candidate.entry_id)
        assert entry is not None  # inserted by apply, after the account write (or before)
        _check_same_request(entry, request)
        balance = applied.state.balance if applied.state is not None else 0
        return Redeemed(entry=entry, balance=balance)

    async def adjust(
        self, customer_id: str, adjustment: goodwill.Adjustment, request_id: str
    ) -> Redeemed:
        """A goodwill adjustment, idempotent by request id like a redemption."""
        account = await self.account(customer_id)
        for kind in (GOODWILL, GOODWILL_DEBIT):
            stored = await codec.entry(self.accounts.backend, entry_id(kind, request_id))
            if stored is not None:
                _check_same_adjustment(stored, adjustment)
                return Redeemed(entry=stored, balance=account.balance)
        now, rules, source = self._clock.now(), self._rules, self._source
        book = await self.books.current()
        candidate = goodwill.adjustment_entry(customer_id, adjustment, request_id, now)
        limit = rules.earning.goodwill_limit
        decide: decisions.Decide = lambda s: decisions_programme.adjust(  # noqa: E731
            s, candidate, adjustment, rules=rules, book=book, limit=limit, now=now, source=source
        )
        try:
            applied = await self.accounts.apply(customer_id, request_id, decide)
        except AggregateConflict as exc:
            raise Conflict("the account is being updated concurrently; retry") from exc
        entry = await codec.entry(self.accounts.backend, candidate.entry_id)
        assert entry is not None  # inserted by apply, right after the account write
        _check_same_adjustment(entry, adjustment)
        return Redeemed(entry=entry, balance=applied.state.balance if applied.state else 0)

    def adjustment_id(self, customer_id: str, idempotency_key: str | None) -> str:
        return command_event_id(self._source, "adjust", customer_id, idempotency_key)

    # --- queries -----------------------------------------------------------------------
    def now(self) -> datetime:
        return self._clock.now()

    async def account(self, customer_id: str) -> Account:
        found = await self.accounts.get(customer_id)
        if found is None:
            raise NotFound(f"loyalty account {customer_id} not found")
        return found

    async def ledger(self, customer_id: str, *, limit: int) -> list[LedgerEntry]:
        await self.account(customer_id)
        return await codec.ledger(self.accounts.backend, customer_id, limit=limit)


def _check_same_request(entry: LedgerEntry, request: Redemption) -> None:
    same = (
        entry.points == request.points
        and entry.details.get("reward") == request.reward
        and entry.details.get("reference") == request.reference
    )
    if not same:
        raise Conflict("Idempotency-Key already used for a different redemption")


def _check_same_adjustment(entry: LedgerEntry, adjustment: goodwill.Adjustment) -> None:
    same = (
        entry.details.get("signed_points") == adjustment.points
        and entry.details.get("reason") == adjustment.reason
        and entry.details.get("reference") == adjustment.reference
    )
    if not same:
        raise Conflict("Idempotency-Key already used for a different adjustment")
