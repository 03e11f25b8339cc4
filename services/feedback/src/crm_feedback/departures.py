"""Staff departures (issue 8): HR's ``EmployeeDeparted`` makes every open complaint the
person holds move on — whatever account it is on — and no complaint is ever filed with
someone who has left.

The rule (``choose_owner``): the account's current owner as feedback knows it (its
``accounts`` record) unless that owner has left too; else the successor HR named (followed
down the chain of earlier departures); else the default pool. The departure is recorded
once per employee (``departures``); each complaint moves under an id derived from the
departure and the complaint, publishing ``ComplaintReassigned`` (reason
``employee_departed``) with its SLA deadlines untouched. A re-check timer runs the
hand-over once more to catch a complaint filed for the person while the first pass ran.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from crm_events import CloudEvent, deterministic_event_id
from crm_events.contacts import AccountOwnerChanged
from crm_events.feedback import ComplaintRaised
from crm_events.inbound import EmployeeDeparted
from crm_feedback import codec
from crm_feedback.domain import OPEN, Complaint
from crm_feedback.ownership import Account, OwnerMove, reassign
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.errors import Conflict, DomainError
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore, Decision
from crm_runtime.store_batch import StoreBatch
from crm_runtime.timestamps import stamp, unstamp, unstamp_optional

log = get_logger(__name__)
DEPARTURES = codec.DEPARTURES
MAX_CHAIN = 20  # successors followed before giving up on a (cyclic or absurd) chain
SCAN_PAGE = 500  # open complaints of the leaver read per query


@dataclass(frozen=True)
class StaffDeparture:
    """Fact: HR recorded that an employee left."""

    event_id: str
    employee_id: str
    departed_at: datetime
    successor_id: str | None


@dataclass(frozen=True)
class Departure:
    """An employee who left, as feedback recorded it (``_id`` = employee id)."""

    employee_id: str
    departed_at: datetime
    successor_id: str | None
    recorded_by: str
    recheck_at: datetime | None = None  # the hand-over runs once more then


class DepartureCodec:
    collection = DEPARTURES

    def encode(self, departure: Departure) -> dict[str, Any]:
        doc = asdict(departure)
        del doc["employee_id"]
        doc["departed_at"] = stamp(departure.departed_at)
        doc["recheck_at"] = None if departure.recheck_at is None else stamp(departure.recheck_at)
        return doc

    def decode(self, doc: dict[str, Any]) -> Departure:
        return Departure(
            employee_id=doc["_id"],
            departed_at=unstamp(doc["departed_at"]),
            successor_id=doc.get("successor_id"),
            recorded_by=doc["recorded_by"],
            recheck_at=unstamp_optional(doc.get("recheck_at")),
        )

    def entry(self, entry: object) -> tuple[str, dict[str, Any]]:
        raise TypeError("a departure appends no entries")


def staff_departure(data: EmployeeDeparted, event: CloudEvent) -> StaffDeparture:
    return StaffDeparture(event.id, data.employee_id, data.departed_at, data.successor_id)


# --- decisions ------------------------------------------------------------------------------
def record_departure(
    state: Departure | None, fact: StaffDeparture, recheck_at: datetime
) -> Decision[Departure]:
    """Once per employee; naming oneself as successor counts as naming nobody."""
    if state is not None:
        if state.recorded_by == fact.event_id:
            return Decision()
        raise Conflict(f"employee {fact.employee_id} has already departed")
    successor = None if fact.successor_id == fact.employee_id else fact.successor_id
    departure = Departure(
        fact.employee_id, fact.departed_at, successor, fact.event_id, recheck_at=recheck_at
    )
    return Decision(departure, due=recheck_at)


def rechecked(state: Departure | None) -> Decision[Departure]:
    if state is None or state.recheck_at is None:
        return Decision()
    return Decision(replace(state, recheck_at=None), due=None)


def choose_owner(
    customer_id: str,
    account_owner: str | None,
    successor: str | None,
    gone: Collection[str],
    pool: tuple[str, ...],
) -> tuple[str, str]:
    """Who takes over a leaver's complaint: the account's owner, else the (live) successor,
    else the pool (spread by the customer id); never anyone in ``gone``."""
    if account_owner is not None and account_owner not in gone:
        return account_owner, "account owner"
    if successor is not None and successor not in gone:
        return successor, "successor"
    live = [e for e in pool if e not in gone]
    if not live:
        raise DomainError(f"no one is left to own the complaints of customer {customer_id}")
    digest = hashlib.sha256(customer_id.encode()).digest()
    return live[int.from_bytes(digest[:4], "big") % len(live)], "default pool"


def hand_over(
    state: Complaint | None, leaver: str, owner: str, *, cause_id: str, source: str, now: datetime
) -> Decision[Complaint]:
    """An open complaint the leaver still holds goes to ``owner``; clocks untouched. It
    remembers whom it was taken from, so contacts' move of the leaver's account (which
    may arrive later and name someone else) still takes it to the account's owner."""
    if state is None or state.status != OPEN or state.owner_id != leaver:
        return Decision()
    move = OwnerMove(cause_id, state.customer_id, leaver, owner, "employee_departed", now)
    moved = reassign(state, move, source=source, now=now)
    assert moved.state is not None
    return replace(moved, state=replace(moved.state, handed_over_from=leaver))


# --- use cases ------------------------------------------------------------------------------
class StaffDepartures:
    def __init__(
        self,
        store: AggregateStore[Departure],
        accounts: AggregateStore[Account],
        complaints: AggregateStore[Complaint],
        clock: Clock,
        *,
        source: str,
        pool: tuple[str, ...],
        recheck: timedelta,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.complaints = complaints
        self._clock = clock
        self._source = source
        self._pool = pool
        self._recheck = recheck

    # --- who has left ---------------------------------------------------------------------
    async def departed_among(self, employees: Collection[str]) -> set[str]:
        if not employees:
            return set()
        return set(await self.store.get_many(set(employees)))

    async def live_successor(self, departure: Departure) -> str | None:
        """Follow the chain of successors to someone still here (None: nobody named)."""
        seen, successor = {departure.employee_id}, departure.successor_id
        while successor is not None and successor not in seen and len(seen) <= MAX_CHAIN:
            onward = await self.store.get(successor)
            if onward is None:
                return successor
            seen.add(successor)
            successor = onward.successor_id
        return None

    async def owners_for(
        self, departure: Departure, customers: Collection[str]
    ) -> dict[str, tuple[str, str]]:
        """Per customer: who takes over the leaver's complaints, and why."""
        accounts = await self.accounts.get_many(set(customers))
        owners = {c: account.owner_id for c, account in accounts.items()}
        successor = await self.live_successor(departure)
        candidates = {*owners.values(), *self._pool} - {departure.employee_id}
        gone = await self.departed_among(candidates) | {departure.employee_id}
        return {c: choose_owner(c, owners.get(c), successor, gone, self._pool) for c in customers}

    async def replacement(self, customer_id: str, named: str) -> str | None:
        """The owner a complaint naming ``named`` gets instead (None: ``named`` is here)."""
        departure = await self.store.get(named)
        if departure is None:
            return None
        return (await self.owners_for(departure, [customer_id]))[customer_id][0]

    # --- the hand-over --------------------------------------------------------------------
    async def departed(self, fact: StaffDeparture) -> bool:
        due = self._clock.now() + self._recheck
        recorded = await self.store.apply(
            fact.employee_id, fact.event_id, lambda s: record_departure(s, fact, due)
        )
        assert recorded.state is not None
        handed = await self.hand_over(recorded.state, fact.event_id)
        return recorded.applied or handed

    async def recheck(self, departure: Departure, now: datetime) -> None:
        """Timer: hand over what was filed for the person while the first pass ran."""
        cause = deterministic_event_id(departure.recorded_by, "recheck")
        await self.hand_over(departure, cause)
        await self.store.apply(departure.employee_id, cause, rechecked)

    async def hand_over(self, departure: Departure, cause: str) -> bool:
        held = await self._open_complaints_of(departure.employee_id)
        owners = await self.owners_for(departure, {c.customer_id for c in held})
        batch = StoreBatch.current()
        if batch is not None and held:
            await batch.prefetch(self.complaints, [c.complaint_id for c in held])
        now, changed, leaver = self._clock.now(), False, departure.employee_id
        for complaint in held:
            owner = owners[complaint.customer_id][0]
            changed |= await self._move(complaint.complaint_id, leaver, owner, cause, now)
        log.info("complaints_handed_over", employee_id=leaver, complaints=len(held))
        return changed

    async def _move(
        self, complaint_id: str, leaver: str, owner: str, cause: str, now: datetime
    ) -> bool:
        decide = lambda s: hand_over(  # noqa: E731
            s, leaver, owner, cause_id=cause, source=self._source, now=now
        )
        event_id = deterministic_event_id(cause, "complaint", complaint_id)
        return (await self.complaints.apply(complaint_id, event_id, decide)).applied

    async def _open_complaints_of(self, employee_id: str) -> list[Complaint]:
        found: list[Complaint] = []
        before: tuple[str, str] | None = None
        while True:
            page = await codec.complaints(
                self.complaints.backend,
                equals={"owner_id": employee_id},
                status=OPEN,
                limit=SCAN_PAGE,
                before=before,
            )
            found.extend(page)
            if len(page) < SCAN_PAGE:
                return found
            before = (stamp(page[-1].raised_at), page[-1].complaint_id)


def wire(runtime: ServiceRuntime, departures: StaffDepartures) -> None:
    """Consume ``EmployeeDeparted`` (keyed by the employee: one departure aggregate)."""

    async def departed(data: EmployeeDeparted, event: CloudEvent) -> bool:
        return await departures.departed(staff_departure(data, event))

    runtime.on(EmployeeDeparted, departed, aggregate=(departures.store, _employee))
    # A complaint filed for, or an account moved to, someone who has left gets the
    # departure rule's owner instead (``replacement``): the poll reads those in one query.
    runtime.reads(ComplaintRaised, (departures.store, lambda data: data.owner_id))
    runtime.reads(AccountOwnerChanged, (departures.store, lambda data: data.new_owner_id))


def _employee(data: EmployeeDeparted) -> str:
    return data.employee_id
