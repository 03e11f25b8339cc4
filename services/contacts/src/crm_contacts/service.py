"""Use cases of the contacts service: HTTP commands, consumed facts and timers meet here,
each one decision applied to one customer by the aggregate store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from crm_contacts import codec, decisions, domain, erasure, portability, translate
from crm_contacts.domain import (
    Customer,
    ExitAgreement,
    ProfileChange,
    Registration,
    RelationshipEnd,
    Retention,
    TimelineEntry,
    Touchpoint,
)
from crm_events import CloudEvent
from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_runtime.clock import Clock
from crm_runtime.errors import MissingPrerequisite, NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.logging import get_logger
from crm_runtime.store import AggregateStore, Decision

log = get_logger(__name__)
Rule = Callable[[Customer | None], Decision[Customer]]


class ContactsService:
    def __init__(self, customers: AggregateStore[Customer], clock: Clock, *, source: str) -> None:
        self.customers = customers
        self._clock = clock
        self._source = source

    def event_id(self, command: str, customer_id: str, idempotency_key: str | None) -> str:
        return command_event_id(self._source, command, customer_id, idempotency_key)

    def _envelope(
        self, data: CustomerRegistered | CustomerProfileUpdated | ContactLogged, event_id: str
    ) -> CloudEvent:
        return data.to_event(source=self._source, event_id=event_id, time=self._clock.now())

    async def _apply(self, customer_id: str, event_id: str, rule: Rule) -> bool:
        return (await self.customers.apply(customer_id, event_id, rule)).applied

    # --- commands (HTTP): the command's event is published from the customer's outbox -----
    async def register(self, data: CustomerRegistered, event_id: str) -> Customer:
        event = self._envelope(data, event_id)
        fact = translate.registration(data, event)
        await self._apply(
            fact.customer_id, event.id, lambda s: decisions.register(s, fact, [event])
        )
        return await self.customer(data.customer_id)

    async def update_profile(self, data: CustomerProfileUpdated, event_id: str) -> Customer:
        event = self._envelope(data, event_id)
        await self._known(self.profile_updated(translate.profile_change(data, event), [event]))
        return await self.customer(data.customer_id)

    async def log_contact(self, data: ContactLogged, event_id: str) -> TimelineEntry:
        domain.check_contact_time(data.occurred_at, self._clock.now())
        event = self._envelope(data, event_id)
        await self._known(self.contact_logged(translate.touchpoint(data, event), [event]))
        stored = await codec.find_entry(self.customers.backend, event.id)
        assert stored is not None
        return stored

    @staticmethod
    async def _known(applying: object) -> None:
        try:
            await applying  # type: ignore[misc]
        except MissingPrerequisite as exc:
            raise NotFound(exc.reason.replace(" for unknown ", ": unknown ")) from None

    # --- facts (consumed events, translated at the edge) ----------------------------------
    async def registered(self, fact: Registration) -> bool:
        return await self._apply(
            fact.customer_id, fact.event_id, lambda s: decisions.register(s, fact, [])
        )

    async def profile_updated(
        self, fact: ProfileChange, announce: Sequence[CloudEvent] = ()
    ) -> bool:
        rule: Rule = lambda s: decisions.update_profile(s, fact, announce)  # noqa: E731
        return await self._apply(fact.customer_id, fact.event_id, rule)

    async def contact_logged(self, fact: Touchpoint, announce: Sequence[CloudEvent] = ()) -> bool:
        rule: Rule = lambda s: decisions.log_contact(s, fact, announce)  # noqa: E731
        return await self._apply(fact.customer_id, fact.event_id, rule)

    async def exit_agreed(self, fact: ExitAgreement) -> bool:
        return await self._apply(
            fact.customer_id, fact.event_id, lambda s: decisions.exit_agreed(s, fact)
        )

    async def retained(self, fact: Retention) -> bool:
        applied = await self._apply(
            fact.customer_id, fact.event_id, lambda s: decisions.retained(s, fact)
        )
        if not applied:
            log.info("retention_without_exit", case_id=fact.case_id)
        return applied

    async def relationship_ended(self, fact: RelationshipEnd) -> bool:
        rule: Rule = lambda s: decisions.relationship_ended(s, fact, source=self._source)  # noqa: E731
        return await self._apply(fact.customer_id, fact.event_id, rule)

    async def erasure_requested(self, request: erasure.ErasureRequest) -> bool:
        """Anonymise the record now (the tombstone); the sweeper finishes the timeline."""
        now = self._clock.now()
        rule: Rule = lambda s: erasure.tombstone(s, request, now)  # noqa: E731
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
        now, source = self._clock.now(), self._source
        rule: Rule = lambda s: portability.exported(  # noqa: E731
            s, request, timeline, now, source=source
        )
        return await self._apply(request.customer_id, request.event_id, rule)

    # --- timers ------------------------------------------------------------------------------
    async def on_due(self, customer: Customer, now: datetime) -> None:
        """Sweeper: an erasure to finish, or the agreed exit date has come."""
        if customer.erased_at is not None and customer.erasure_attested_at is None:
            await self.finish_erasure(customer, now)
        else:
            await self.exit_effective(customer, now)

    async def exit_effective(self, customer: Customer, now: datetime) -> None:
        """Sweeper: the agreed exit date of this customer has come."""
        rule: Rule = lambda s: decisions.exit_effective(s, now, source=self._source)  # noqa: E731
        await self._apply(customer.customer_id, decisions.former_cause(customer), rule)

    async def finish_erasure(self, customer: Customer, now: datetime) -> None:
        """Rewrite the contact entries (idempotent), then attest once."""
        records = await codec.erase_timeline(self.customers.backend, customer.customer_id)
        rule: Rule = lambda s: erasure.attest(s, records, now, source=self._source)  # noqa: E731
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
