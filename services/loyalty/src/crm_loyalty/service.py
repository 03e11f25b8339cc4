"""Use cases of the points side: accounts, earning, reversal, redemption, settlement.

Ledger-backed changes are two writes: the ledger entry first (its id derives from the
source event; a duplicate id returns the stored entry), then the account change guarded by
``applied`` + ``version``, then the entry is marked posted/ignored. A crash between the
writes heals on redelivery; a finished entry means the event is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crm_events import CloudEvent
from crm_events.contacts import CustomerRegistered
from crm_events.inbound import PurchaseRecorded, PurchaseReturned
from crm_events.offboarding import ExitAgreed
from crm_loyalty import signals
from crm_loyalty.domain import (
    IGNORED,
    PENDING,
    POSTED,
    REDEEM,
    REVERSE,
    Account,
    Derived,
    LedgerEntry,
    Posting,
    entry_id,
)
from crm_loyalty.health import apply_signal
from crm_loyalty.ledger import (
    check_redemption,
    earn_entry,
    post_earn,
    post_redemption,
    post_reversal,
    reversal_entry,
)
from crm_loyalty.ports import LoyaltyRepository
from crm_loyalty.rules import Rules
from crm_loyalty.settlement import settle, settlement_entry
from crm_loyalty.writer import AccountWriter, ConcurrentUpdate
from crm_runtime.clock import Clock
from crm_runtime.errors import Conflict, DomainError, MissingPrerequisite, NotFound, Unprocessable
from crm_runtime.idempotency import command_event_id
from crm_runtime.keys import map_key

Post = Callable[[Account, LedgerEntry], Posting]


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
        repository: LoyaltyRepository,
        writer: AccountWriter,
        clock: Clock,
        *,
        rules: Rules,
        source: str,
    ) -> None:
        self._repo = repository
        self._source = source
        self._writer = writer
        self._clock = clock
        self._rules = rules

    # --- consumed events -------------------------------------------------------------
    async def on_customer_registered(self, data: CustomerRegistered, event: CloudEvent) -> bool:
        now = self._clock.now()
        account = Account.open(data.customer_id, event.time, self._rules, now)
        account.applied[map_key(event.id)] = now
        enrolment = self._writer.events([account.enrolment()], event.id, event, now)
        opened = await self._repo.add_account(account, enrolment)
        if opened:
            self._writer.notify()
        return opened

    async def on_purchase_recorded(self, data: PurchaseRecorded, event: CloudEvent) -> bool:
        account = await self._existing(data.customer_id, f"purchase {data.order_id}")
        earned = await self._repo.find_earn(data.customer_id, data.order_id)
        if earned is not None and earned.source_event_id != event.id:
            raise Unprocessable(
                f"order {data.order_id} was already recorded by event {earned.source_event_id}"
            )
        now = self._clock.now()
        entry = earn_entry(account, data, event.id, self._rules.earning, now)
        signal = signals.purchase_recorded(data, event, self._rules.health)

        def health(account: Account) -> list[Derived]:
            return apply_signal(account, signal, self._rules.health, now, event.id)

        return await self._post(entry, self._earn, event, extra=health)

    async def on_purchase_returned(self, data: PurchaseReturned, event: CloudEvent) -> bool:
        await self._existing(data.customer_id, f"return {data.return_id}")
        earn = await self._repo.find_earn(data.customer_id, data.order_id)
        if earn is None or earn.state == PENDING:
            raise MissingPrerequisite(
                f"return {data.return_id} refers to order {data.order_id} "
                "whose purchase has not been recorded yet"
            )
        entry = await self._repo.get_entry(entry_id(REVERSE, event.id))
        if entry is None:
            earlier = await self._repo.reversals_of(earn.entry_id)
            entry = reversal_entry(earn, earlier, data, event.id, self._clock.now())
        return await self._post(entry, self._reverse, event)

    async def on_exit_agreed(self, data: ExitAgreed, event: CloudEvent) -> bool:
        now = self._clock.now()
        rules = self._rules.settlement
        applied = await self._writer.apply(
            data.customer_id,
            event.id,
            lambda account: settle(account, data, event.id, rules, now),
            cause=event,
            missing=lambda: MissingPrerequisite(f"exit agreed for unknown account {data.subject}"),
        )
        # Second write, derived from the stored settlement: a redelivery re-creates it.
        account = await self._repo.get_account(data.customer_id)
        entry = settlement_entry(account) if account is not None else None
        if entry is not None:
            await self._repo.add_entry(entry)
        return applied

    # --- commands (HTTP) ---------------------------------------------------------------
    def request_id(self, customer_id: str, idempotency_key: str | None) -> str:
        return command_event_id(self._source, "redeem", customer_id, idempotency_key)

    async def redeem(self, customer_id: str, request: Redemption, request_id: str) -> Redeemed:
        account = await self.account(customer_id)
        entry = await self._repo.get_entry(entry_id(REDEEM, request_id))
        if entry is not None:
            _check_same_request(entry, request)
        else:
            entry = await self._repo.add_entry(self._redemption_entry(account, request, request_id))
        if entry.state == PENDING:
            await self._post_redemption(entry, request_id)
        return Redeemed(entry=await self._entry(entry.entry_id), balance=await self._balance(entry))

    def _redemption_entry(
        self, account: Account, request: Redemption, request_id: str
    ) -> LedgerEntry:
        check_redemption(account, request.points)  # fail fast, before any write
        now = self._clock.now()
        return LedgerEntry(
            entry_id=entry_id(REDEEM, request_id),
            customer_id=account.customer_id,
            kind=REDEEM,
            points=request.points,
            source_event_id=request_id,
            occurred_at=now,
            recorded_at=now,
            details={"reward": request.reward, "reference": request.reference},
        )

    async def _post_redemption(self, entry: LedgerEntry, request_id: str) -> None:
        try:
            await self._writer.apply(
                entry.customer_id,
                request_id,
                lambda account: post_redemption(account, entry).derived,
                cause=None,
                missing=lambda: NotFound(f"loyalty account {entry.customer_id} not found"),
            )
        except ConcurrentUpdate as exc:
            await self._repo.discard_entry(entry.entry_id)  # no save succeeded
            raise Conflict("the account is being updated concurrently; retry") from exc
        except DomainError:
            await self._repo.discard_entry(entry.entry_id)  # refused: never in the balance
            raise
        await self._repo.finish_entry(entry.entry_id, POSTED, None, self._clock.now())

    # --- queries -----------------------------------------------------------------------
    async def account(self, customer_id: str) -> Account:
        found = await self._repo.get_account(customer_id)
        if found is None:
            raise NotFound(f"loyalty account {customer_id} not found")
        return found

    async def ledger(self, customer_id: str, *, limit: int) -> list[LedgerEntry]:
        await self.account(customer_id)
        return await self._repo.ledger(customer_id, limit=limit)

    # --- shared steps ------------------------------------------------------------------
    async def _existing(self, customer_id: str, what: str) -> Account:
        account = await self._repo.get_account(customer_id)
        if account is None:
            raise MissingPrerequisite(f"{what} for unknown account {customer_id}")
        return account

    def _earn(self, account: Account, entry: LedgerEntry) -> Posting:
        return post_earn(account, entry, self._rules.earning)

    def _reverse(self, account: Account, entry: LedgerEntry) -> Posting:
        return post_reversal(account, entry, self._rules.earning)

    async def _post(
        self,
        candidate: LedgerEntry,
        post: Post,
        cause: CloudEvent,
        *,
        extra: Callable[[Account], list[Derived]] | None = None,
    ) -> bool:
        entry = await self._repo.add_entry(candidate)
        if entry.state != PENDING:
            return False  # finished before: the account took (or refused) it already
        postings: list[Posting] = []

        def change(account: Account) -> list[Derived]:
            posting = post(account, entry)
            postings.append(posting)
            if posting.state == IGNORED:
                account.ignored_entries[map_key(entry.entry_id)] = self._clock.now()
            return posting.derived + (extra(account) if extra else [])

        applied = await self._writer.apply(
            entry.customer_id,
            cause.id,
            change,
            cause=cause,
            missing=lambda: MissingPrerequisite(f"unknown account {entry.customer_id}"),
        )
        state, note = await self._outcome(entry, postings[-1] if applied else None)
        await self._repo.finish_entry(entry.entry_id, state, note, self._clock.now())
        return applied

    async def _outcome(self, entry: LedgerEntry, posting: Posting | None) -> tuple[str, str | None]:
        if posting is not None:
            return posting.state, posting.note
        # Healing after a crash between the account write and this one.
        account = await self._repo.get_account(entry.customer_id)
        if account is not None and map_key(entry.entry_id) in account.ignored_entries:
            return IGNORED, entry.note or "not taken into the balance"
        return POSTED, None

    async def _entry(self, entry_id_: str) -> LedgerEntry:
        found = await self._repo.get_entry(entry_id_)
        assert found is not None
        return found

    async def _balance(self, entry: LedgerEntry) -> int:
        return (await self.account(entry.customer_id)).balance


def _check_same_request(entry: LedgerEntry, request: Redemption) -> None:
    same = (
        entry.points == request.points
        and entry.details.get("reward") == request.reward
        and entry.details.get("reference") == request.reference
    )
    if not same:
        raise Conflict("Idempotency-Key already used for a different redemption")
