"""Complaints follow the account (issue 8): when contacts moves a customer's account to
another owner (``AccountOwnerChanged``, e.g. on a staff departure), the customer's open
complaints that the previous owner held move with it — their SLA clocks keep running —
and each move is published (``ComplaintReassigned``). The per-employee query
(``GET /owners/{id}/complaints?status=open``) lists what one employee holds open, so
nothing stays with someone who left.

Kept apart from the complaint lifecycle (``service.py``): it only changes the owner.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from crm_events import CloudEvent, deterministic_event_id
from crm_events.contacts import AccountOwnerChanged
from crm_events.feedback import ComplaintReassigned
from crm_feedback import codec
from crm_feedback.domain import OPEN, Complaint
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.store import AggregateStore, Decision
from crm_runtime.store_batch import StoreBatch
from crm_runtime.timestamps import stamp, unstamp

ACCOUNTS = "accounts"
MOVED_AT_ONCE = 1000  # open complaints of one customer and owner moved per account move
Reason = Literal["reassigned", "employee_departed"]
# (customer, employee) → who owns in their place if they have left, else None
Replacement = Callable[[str, str], Awaitable[str | None]]


@dataclass(frozen=True)
class OwnerMove:
    """Fact: the customer's account moved from one employee to another."""

    event_id: str
    customer_id: str
    previous_owner_id: str | None
    new_owner_id: str
    reason: Reason
    at: datetime


@dataclass(frozen=True)
class Account:
    """Who owns the customer's account as far as feedback knows (the newest move wins)."""

    customer_id: str
    owner_id: str
    owner_since: datetime


class AccountCodec:
    collection = ACCOUNTS

    def encode(self, account: Account) -> dict[str, Any]:
        return {"owner_id": account.owner_id, "owner_since": stamp(account.owner_since)}

    def decode(self, doc: dict[str, Any]) -> Account:
        return Account(doc["_id"], doc["owner_id"], unstamp(doc["owner_since"]))

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError("an account appends no entries")


def account_moved(state: Account | None, move: OwnerMove) -> Decision[Account]:
    if state is not None and move.at < state.owner_since:
        return Decision()  # an older move arriving late
    return Decision(Account(move.customer_id, move.new_owner_id, move.at))


def owner_move(data: AccountOwnerChanged, event: CloudEvent) -> OwnerMove:
    previous, new = data.previous_owner_id, data.new_owner_id
    return OwnerMove(event.id, data.customer_id, previous, new, data.reason, event.time)


def reassign(
    state: Complaint | None, move: OwnerMove, *, source: str, now: datetime
) -> Decision[Complaint]:
    """An open complaint held by the account's previous owner — or taken from them by the
    departure rule — goes to the new one; its clocks (and so its due date) are untouched."""
    if state is None or state.status != OPEN or not _held_by(state, move.previous_owner_id):
        return Decision()
    if state.owner_id == move.new_owner_id:
        return Decision(replace(state, handed_over_from=None), due=state.next_due_at)
    moved = replace(state, owner_id=move.new_owner_id, handed_over_from=None)
    data = ComplaintReassigned(
        complaint_id=state.complaint_id,
        customer_id=state.customer_id,
        previous_owner_id=state.owner_id,
        new_owner_id=move.new_owner_id,
        reason=move.reason,
    )
    event = data.to_event(
        source=source,
        event_id=deterministic_event_id(move.event_id, "complaint", state.complaint_id),
        time=now,
        correlation_id=state.correlation_id,
        causation_id=move.event_id,
    )
    return Decision(moved, publish=[event], due=moved.next_due_at)


def _held_by(complaint: Complaint, employee: str | None) -> bool:
    return employee is not None and employee in (complaint.owner_id, complaint.handed_over_from)


class ComplaintOwnership:
    def __init__(
        self,
        accounts: AggregateStore[Account],
        complaints: AggregateStore[Complaint],
        clock: Clock,
        *,
        source: str,
        replacement: Replacement | None = None,
    ):
        self.accounts = accounts
        self.complaints = complaints
        self._clock = clock
        self._source = source
        self._replacement = replacement

    async def owner_changed(self, move: OwnerMove) -> bool:
        decide = lambda s: account_moved(s, move)  # noqa: E731
        recorded = (await self.accounts.apply(move.customer_id, move.event_id, decide)).applied
        if move.previous_owner_id is None or move.previous_owner_id == move.new_owner_id:
            return recorded
        previous = move.previous_owner_id
        moving = await self._live(move)
        if moving.new_owner_id == previous:
            return recorded
        held = [
            *await self._open(move.customer_id, "owner_id", previous),
            *await self._open(move.customer_id, "handed_over_from", previous),
        ]
        batch = StoreBatch.current()
        if batch is not None and held:
            await batch.prefetch(self.complaints, [c.complaint_id for c in held])
        now, changed = self._clock.now(), False
        for complaint in held:
            event_id = deterministic_event_id(move.event_id, "complaint", complaint.complaint_id)
            decide_move = lambda s: reassign(s, moving, source=self._source, now=now)  # noqa: E731
            applied = await self.complaints.apply(complaint.complaint_id, event_id, decide_move)
            changed |= applied.applied
        return recorded or changed

    async def registered(
        self, event_id: str, customer_id: str, owner_id: str, at: datetime
    ) -> bool:
        """The account's first owner; any move already seen is newer, whatever the time."""
        first = OwnerMove(event_id, customer_id, None, owner_id, "reassigned", at)
        decide = lambda s: Decision() if s is not None else account_moved(s, first)  # noqa: E731
        return (await self.accounts.apply(customer_id, event_id, decide)).applied

    async def _open(self, customer_id: str, field: str, employee: str) -> list[Complaint]:
        equals = {"customer_id": customer_id, field: employee}
        backend = self.complaints.backend
        return await codec.complaints(backend, equals=equals, status=OPEN, limit=MOVED_AT_ONCE)

    async def _live(self, move: OwnerMove) -> OwnerMove:
        """A move to someone who has left (a late or reordered event) takes the complaints
        to whoever the departure rule names instead: never to a leaver."""
        if self._replacement is None:
            return move
        instead = await self._replacement(move.customer_id, move.new_owner_id)
        return move if instead is None else replace(move, new_owner_id=instead)


def wire(runtime: ServiceRuntime, ownership: ComplaintOwnership) -> None:
    """Consume ``AccountOwnerChanged`` (the per-employee query is the existing
    ``GET /owners/{owner_id}/complaints?status=open``)."""

    async def owner_changed(data: AccountOwnerChanged, event: CloudEvent) -> bool:
        return await ownership.owner_changed(owner_move(data, event))

    runtime.on(AccountOwnerChanged, owner_changed, aggregate=(ownership.accounts, _customer))


def _customer(data: AccountOwnerChanged) -> str:
    return data.customer_id
