"""Staff departures: HR's ``EmployeeDeparted`` makes every account the person owns, and
every account team they sit on, move on by the rule — nothing stays with someone gone.

The hand-over is a scan of the person's accounts (one indexed find per 500) and one
decision per customer, each under an event id derived from the departure and the
customer, so a redelivery after a crash finishes what was left and repeats nothing. The
counts come from the customers themselves (``departed_owners``/``departed_members``), so
they survive a crash between the customers and the record. A re-check timer runs the
hand-over once more after ``recheck`` to catch an account registered for the person while
the first pass ran.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from crm_contacts import codec, handover
from crm_contacts.decisions import Context
from crm_contacts.domain import Customer, Departure, StaffDeparture
from crm_contacts.rules import Rules
from crm_events import deterministic_event_id
from crm_runtime.clock import Clock
from crm_runtime.errors import NotFound
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore
from crm_runtime.store_batch import StoreBatch

log = get_logger(__name__)
MAX_CHAIN = 20  # successors followed before giving up on a (cyclic or absurd) chain


class Departures:
    def __init__(
        self,
        store: AggregateStore[Departure],
        customers: AggregateStore[Customer],
        clock: Clock,
        *,
        source: str,
        rules: Rules,
        recheck: timedelta,
    ) -> None:
        self.store = store
        self.customers = customers
        self._clock = clock
        self._source = source
        self._rules = rules
        self._recheck = recheck

    def _ctx(self, cause_id: str, now: datetime | None = None) -> Context:
        return Context(self._rules, self._source, now or self._clock.now(), cause_id)

    # --- who has left ----------------------------------------------------------------------------
    async def _recorded(self, employees: Collection[str]) -> dict[str, Departure]:
        return await self.store.get_many(set(employees))

    async def departed_among(self, employees: Collection[str]) -> set[str]:
        return set(await self._recorded(employees)) if employees else set()

    async def leaving_among(self, employees: Collection[str]) -> dict[str, str | None]:
        """Those of ``employees`` who have left → the live end of their successor chain."""
        gone = await self._recorded(employees) if employees else {}
        return {e: await self.live_successor(d) for e, d in gone.items()}

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

    # --- the hand-over ---------------------------------------------------------------------------
    async def departed(self, fact: StaffDeparture) -> bool:
        due = self._clock.now() + self._recheck
        recorded = await self.store.apply(
            fact.employee_id, fact.event_id, lambda s: handover.record_departure(s, fact, due)
        )
        departure = recorded.state
        assert departure is not None
        handed = await self.hand_over(departure, fact.event_id)
        return recorded.applied or handed

    async def recheck(self, departure: Departure, now: datetime) -> None:
        """Timer: hand over what was registered for the person during the first pass."""
        cause = deterministic_event_id(departure.recorded_by, "recheck")
        await self.hand_over(departure, cause, now)
        await self.store.apply(departure.employee_id, cause, handover.rechecked)

    async def hand_over(
        self, departure: Departure, cause: str, now: datetime | None = None
    ) -> bool:
        employee = departure.employee_id
        backend = self.customers.backend
        owned = await codec.every_customer_where(backend, {"owner_id": employee})
        seated = await codec.every_customer_where(backend, {"team_members": employee})
        plan = {c.customer_id: c for c in (*owned, *seated)}
        colleagues = {e for c in plan.values() for e in c.team}
        gone = await self.departed_among(colleagues - {employee}) | {employee}
        leaving = {employee: await self.live_successor(departure)}
        ctx = self._ctx(cause, now)
        batch = StoreBatch.current()
        if batch is not None and plan:
            await batch.prefetch(self.customers, list(plan))
        changed = False
        for customer_id in plan:
            event_id = deterministic_event_id(cause, "hand-over", customer_id)
            decide = lambda s: handover.hand_over(s, leaving, gone, ctx)  # noqa: E731
            changed |= (await self.customers.apply(customer_id, event_id, decide)).applied
        handed = ({c.customer_id for c in owned}, {c.customer_id for c in seated})
        return await self._summarise(departure, leaving[employee], handed, ctx) or changed

    async def _summarise(
        self,
        departure: Departure,
        successor: str | None,
        handed: tuple[set[str], set[str]],
        ctx: Context,
    ) -> bool:
        """Counts = this pass's accounts and seats plus those handed over before (a crash
        may have kept the record from seeing an earlier pass)."""
        employee, backend = departure.employee_id, self.customers.backend
        owned = await codec.every_customer_where(backend, {"departed_owners": employee})
        seated = await codec.every_customer_where(backend, {"departed_members": employee})
        accounts = len(handed[0] | {c.customer_id for c in owned})
        seats = len(handed[1] | {c.customer_id for c in seated})
        counts = max(accounts, departure.accounts), max(seats, departure.seats)
        event_id = deterministic_event_id(ctx.cause_id, "summary", *map(str, counts))
        decide = lambda s: handover.summarise(s, *counts, ctx, successor)  # noqa: E731
        summary = await self.store.apply(employee, event_id, decide)
        log.info("accounts_handed_over", employee_id=employee, accounts=counts[0], seats=counts[1])
        return summary.applied

    # --- queries ---------------------------------------------------------------------------------
    async def departure(self, employee_id: str) -> tuple[Departure, dict[str, int]]:
        """The record, and what other services handed over (counted per service)."""
        found = await self.store.get(employee_id)
        if found is None:
            raise NotFound(f"no departure recorded for employee {employee_id}")
        return found, await codec.handed_over(self.customers.backend, employee_id)
