"""Use cases of the contacts service: HTTP commands, consumed facts and timers meet here,
each one decision applied to one customer by the aggregate store."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from crm_contacts import codec, decisions, domain, erasure, handover, portability, translate
from crm_contacts.decisions import Context
from crm_contacts.departures import Departures
from crm_contacts.domain import (
    Customer,
    DirectoryFilter,
    ExitAgreement,
    ProfileChange,
    PurchaseMade,
    PurchaseReturn,
    Registration,
    RelationshipEnd,
    Retention,
    TierChange,
    TimelineEntry,
    Touchpoint,
)
from crm_contacts.rules import Rules
from crm_events import CloudEvent
from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_runtime.clock import Clock
from crm_runtime.errors import Conflict, MissingPrerequisite, NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore, Decision

log = get_logger(__name__)
Rule = Callable[[Customer | None], Decision[Customer]]
Cursor = codec.Cursor


class ContactsService:
    def __init__(
        self,
        customers: AggregateStore[Customer],
        departures: Departures,
        clock: Clock,
        *,
        source: str,
        rules: Rules,
    ) -> None:
        self.customers = customers
        self.departures = departures
        self.rules = rules
        self._clock = clock
        self._source = source

    def event_id(self, command: str, customer_id: str, idempotency_key: str | None) -> str:
        return command_event_id(self._source, command, customer_id, idempotency_key)

    def context(self, cause_id: str) -> Context:
        return Context(self.rules, self._source, self._clock.now(), cause_id)

    def _envelope(
        self, data: CustomerRegistered | CustomerProfileUpdated | ContactLogged, event_id: str
    ) -> CloudEvent:
        return data.to_event(source=self._source, event_id=event_id, time=self._clock.now())

    async def _apply(self, customer_id: str, event_id: str, rule: Rule) -> bool:
        return (await self.customers.apply(customer_id, event_id, rule)).applied

    async def _decide(
        self,
        customer_id: str,
        event_id: str,
        decide: Callable[..., Decision[Customer]],
        *args: object,
    ) -> bool:
        ctx = self.context(event_id)
        return await self._apply(customer_id, event_id, lambda s: decide(s, *args, ctx))

    # --- commands (HTTP): the command's event is published from the customer's outbox -----
    async def register(self, data: CustomerRegistered, event_id: str) -> Customer:
        domain.check_birth_date(data.date_of_birth, self._clock.now())
        event = self._envelope(data, event_id)
        await self._register(translate.registration(data, event), [event])
        return await self.customer(data.customer_id)

    async def update_profile(self, data: CustomerProfileUpdated, event_id: str) -> Customer:
        domain.check_birth_date(data.date_of_birth, self._clock.now())
        event = self._envelope(data, event_id)
        await self._refuse_departed(data.account_team or [])
        await self._known(self.profile_updated(translate.profile_change(data, event), [event]))
        return await self.customer(data.customer_id)

    async def log_contact(self, data: ContactLogged, event_id: str) -> TimelineEntry:
        domain.check_contact_time(data.occurred_at, self._clock.now())
        event = self._envelope(data, event_id)
        await self._known(self.contact_logged(translate.touchpoint(data, event), [event]))
        stored = await codec.find_entry(self.customers.backend, event.id)
        assert stored is not None
        return stored

    async def change_owner(self, customer_id: str, owner_id: str, event_id: str) -> Customer:
        await self._refuse_departed([owner_id])
        await self._known(self._decide(customer_id, event_id, handover.change_owner, owner_id))
        return await self.customer(customer_id)

    async def set_team(
        self, customer_id: str, members: Mapping[str, str], event_id: str
    ) -> Customer:
        await self._refuse_departed(list(members))
        await self._known(self._decide(customer_id, event_id, handover.set_team, members))
        return await self.customer(customer_id)

    async def set_tags(self, customer_id: str, tags: Sequence[str], event_id: str) -> Customer:
        wanted = sorted(set(tags))
        rule: Rule = lambda s: decisions.set_tags(s, wanted, self.context(event_id))  # noqa: E731
        await self._known(self._apply(customer_id, event_id, rule))
        return await self.customer(customer_id)

    async def _refuse_departed(self, employees: Sequence[str]) -> None:
        gone = await self.departures.departed_among(employees)
        if gone:
            raise Conflict(f"employee {sorted(gone)[0]} has left the company")

    @staticmethod
    async def _known(applying: object) -> None:
        try:
            await applying  # type: ignore[misc]
        except MissingPrerequisite as exc:
            raise NotFound(exc.reason.replace(" for unknown ", ": unknown ")) from None

    # --- facts (consumed events, translated at the edge) ----------------------------------
    async def registered(self, fact: Registration) -> bool:
        return await self._register(fact, [])

    async def _register(self, fact: Registration, announce: Sequence[CloudEvent]) -> bool:
        """An account created for someone who has left goes where their accounts went."""
        leaving = await self.departures.leaving_among([fact.owner_id, *fact.account_team])
        ctx = self.context(fact.event_id)
        rule: Rule = lambda s: handover.register(s, fact, announce, ctx, leaving)  # noqa: E731
        return await self._apply(fact.customer_id, fact.event_id, rule)

    async def profile_updated(
        self, fact: ProfileChange, announce: Sequence[CloudEvent] = ()
    ) -> bool:
        """A team naming someone who has left (another system's stale view) keeps them off."""
        gone = await self.departures.departed_among(fact.changes.get("account_team") or [])
        return await self._decide(
            fact.customer_id, fact.event_id, decisions.update_profile, fact, announce, gone
        )

    async def contact_logged(self, fact: Touchpoint, announce: Sequence[CloudEvent] = ()) -> bool:
        return await self._decide(
            fact.customer_id, fact.event_id, decisions.log_contact, fact, announce
        )

    async def exit_agreed(self, fact: ExitAgreement) -> bool:
        return await self._decide(fact.customer_id, fact.event_id, decisions.exit_agreed, fact)

    async def retained(self, fact: Retention) -> bool:
        applied = await self._decide(fact.customer_id, fact.event_id, decisions.retained, fact)
        if not applied:
            log.info("retention_without_exit", case_id=fact.case_id)
        return applied

    async def relationship_ended(self, fact: RelationshipEnd) -> bool:
        return await self._decide(
            fact.customer_id, fact.event_id, decisions.relationship_ended, fact
        )

    async def erasure_requested(self, request: erasure.ErasureRequest) -> bool:
        """Anonymise the record now (the tombstone); the sweeper finishes the timeline."""
        now, rules = self._clock.now(), self.rules
        rule: Rule = lambda s: erasure.tombstone(s, request, now, rules)  # noqa: E731
        applied = await self._apply(request.customer_id, request.event_id, rule)
        if applied:
            log.info("customer_erasure_started", case_id=request.case_id)
        return applied

    async def export_requested(self, request: portability.ExportRequest) -> bool:
        """Contribute the customer's record and timeline to an export (once)."""
        known = await self.customers.get(request.customer_id)
        timeline = []
        if known is not None:
            timeline = await codec.timeline(
                self.customers.backend,
                request.customer_id,
                limit=portability.MAX_ENTRIES,
                before=None,
            )
        now, source, rules = self._clock.now(), self._source, self.rules
        rule: Rule = lambda s: portability.exported(  # noqa: E731
            s, request, timeline, now, rules, source=source
        )
        return await self._apply(request.customer_id, request.event_id, rule)

    async def purchased(self, fact: PurchaseMade) -> bool:
        return await self._decide(fact.customer_id, fact.event_id, handover.purchase, fact)

    async def purchase_returned(self, fact: PurchaseReturn) -> bool:
        return await self._decide(fact.customer_id, fact.event_id, handover.purchase_returned, fact)

    async def tier_changed(self, fact: TierChange) -> bool:
        return await self._decide(fact.customer_id, fact.event_id, handover.tier_changed, fact)

    # --- timers ------------------------------------------------------------------------------
    async def due(self, customer: Customer, now: datetime) -> None:
        """Sweeper: an erasure to finish, or an exit, a follow-up or the inactivity limit of
        this customer has come (the erasure first; its attestation sets the next due date)."""
        if customer.erasure_due_at is not None:
            await self.finish_erasure(customer, now)
            return
        cause = decisions.timer_cause(customer, self.rules)
        ctx = Context(self.rules, self._source, now, cause)
        await self._apply(customer.customer_id, cause, lambda s: decisions.timers(s, ctx))

    async def finish_erasure(self, customer: Customer, now: datetime) -> None:
        """Rewrite the contact entries (idempotent), then attest once."""
        records = await codec.erase_timeline(self.customers.backend, customer.customer_id)
        rules, source = self.rules, self._source
        rule: Rule = lambda s: erasure.attest(s, records, now, rules, source=source)  # noqa: E731
        if await self._apply(customer.customer_id, erasure.attestation_id(customer), rule):
            log.info("customer_erased", case_id=customer.erasure_case_id, records=records)

    # --- queries -------------------------------------------------------------------------------
    async def customer(self, customer_id: str) -> Customer:
        found = await self.customers.get(customer_id)
        if found is None:
            raise NotFound(f"customer {customer_id} not found")
        return found

    async def timeline(
        self, customer_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[TimelineEntry]:
        await self.customer(customer_id)
        return await codec.timeline(self.customers.backend, customer_id, limit=limit, before=before)

    async def directory(
        self, wanted: DirectoryFilter, *, before: Cursor | None, limit: int
    ) -> list[Customer]:
        query = codec.directory_query(wanted)
        return await codec.customers_where(
            self.customers.backend, query, before=before, limit=limit
        )

    async def accounts_of(
        self, employee_id: str, *, before: Cursor | None, limit: int
    ) -> list[Customer]:
        query = {"owner_id": employee_id}
        return await codec.customers_where(
            self.customers.backend, query, before=before, limit=limit
        )

    async def follow_ups(
        self, owner_id: str, state: str, *, before: Cursor | None, limit: int
    ) -> list[Customer]:
        backend = self.customers.backend
        return await codec.follow_ups(backend, owner_id, state, before=before, limit=limit)
