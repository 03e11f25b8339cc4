"""Use cases of the contacts service: HTTP commands and consumed events meet here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from crm_contacts import domain
from crm_contacts.domain import Customer, TimelineEntry
from crm_contacts.ports import ContactsRepository
from crm_events import CloudEvent, deterministic_event_id
from crm_events.common import CustomerClass
from crm_events.contacts import (
    ContactLogged,
    CustomerClassified,
    CustomerProfileUpdated,
    CustomerRegistered,
)
from crm_events.offboarding import CustomerRetained, ExitAgreed
from crm_runtime.clock import Clock
from crm_runtime.errors import MissingPrerequisite, NotFound
from crm_runtime.idempotency import command_event_id
from crm_runtime.logging import get_logger

log = get_logger(__name__)


class ContactsService:
    def __init__(
        self,
        repository: ContactsRepository,
        clock: Clock,
        *,
        source: str,
        on_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self._repo = repository
        self._clock = clock
        self._source = source
        self._on_outbox = on_outbox

    def event_id(self, command: str, customer_id: str, idempotency_key: str | None) -> str:
        return command_event_id(self._source, command, customer_id, idempotency_key)

    def _envelope(
        self, data: CustomerRegistered | CustomerProfileUpdated | ContactLogged, event_id: str
    ) -> CloudEvent:
        return data.to_event(source=self._source, event_id=event_id, time=self._clock.now())

    # --- commands (HTTP) ----------------------------------------------------------------
    async def register(self, data: CustomerRegistered, event_id: str) -> Customer:
        event = self._envelope(data, event_id)
        customer = Customer.register(data, event.time)
        await self._store_registration(customer, event, publish=True)
        stored = await self._repo.get_customer(data.customer_id)
        assert stored is not None
        return stored

    async def update_profile(self, data: CustomerProfileUpdated, event_id: str) -> Customer:
        if not await self._repo.customer_exists(data.customer_id):
            raise NotFound(f"customer {data.customer_id} not found")
        event = self._envelope(data, event_id)
        await self._store_profile_update(data, event, publish=True)
        stored = await self._repo.get_customer(data.customer_id)
        assert stored is not None
        return stored

    async def log_contact(self, data: ContactLogged, event_id: str) -> TimelineEntry:
        if not await self._repo.customer_exists(data.customer_id):
            raise NotFound(f"customer {data.customer_id} not found")
        domain.check_contact_time(data.occurred_at, self._clock.now())
        event = self._envelope(data, event_id)
        entry = domain.contact_entry(event.id, data)
        if await self._repo.add_entry(entry, [event]):
            self._on_outbox()
        stored = await self._repo.get_entry(entry.entry_id)
        assert stored is not None
        return stored

    # --- consumed events (other systems, or our own relayed events coming back) ---------
    async def on_customer_registered(self, data: CustomerRegistered, event: CloudEvent) -> bool:
        customer = Customer.register(data, event.time)
        return await self._store_registration(customer, event, publish=False)

    async def on_profile_updated(self, data: CustomerProfileUpdated, event: CloudEvent) -> bool:
        if not await self._repo.customer_exists(data.customer_id):
            raise MissingPrerequisite(f"profile update for unknown customer {data.customer_id}")
        return await self._store_profile_update(data, event, publish=False)

    async def on_contact_logged(self, data: ContactLogged, event: CloudEvent) -> bool:
        if not await self._repo.customer_exists(data.customer_id):
            raise MissingPrerequisite(f"contact logged for unknown customer {data.customer_id}")
        return await self._repo.add_entry(domain.contact_entry(event.id, data), [])

    # --- shared steps --------------------------------------------------------------------
    async def _store_registration(
        self, customer: Customer, event: CloudEvent, *, publish: bool
    ) -> bool:
        applied = await self._repo.add_customer(customer, event.id, [event] if publish else [])
        if applied and publish:
            self._on_outbox()
        # Second write; a crash before it heals when the relayed event is consumed again.
        await self._repo.add_entry(domain.registration_entry(event.id, customer), [])
        return applied

    async def _store_profile_update(
        self, data: CustomerProfileUpdated, event: CloudEvent, *, publish: bool
    ) -> bool:
        changes = domain.profile_changes(data)
        applied = await self._repo.apply_change(
            data.customer_id, changes, event.id, event.time, [event] if publish else []
        )
        if applied and publish:
            self._on_outbox()
        await self._repo.add_entry(domain.profile_entry(event.id, data, event.time), [])
        return applied

    async def on_exit_agreed(self, data: ExitAgreed, event: CloudEvent) -> bool:
        details = {"case_id": data.case_id, "effective_date": data.effective_date.isoformat()}
        changes = domain.exit_agreed_changes(data)
        await self._require_customer(data.customer_id, "exit agreed")
        applied = await self._repo.apply_change(data.customer_id, changes, event.id, event.time, [])
        entry = domain.case_entry(data.case_id, data.customer_id, "exit-agreed", event.time)
        await self._repo.add_entry(replace(entry, details=details), [])
        return applied

    async def on_customer_retained(self, data: CustomerRetained, event: CloudEvent) -> bool:
        """Undoes an exit this customer is in for the same case; otherwise changes nothing.

        Contacts records the relationship's lifecycle: a retention without an exit (the
        usual outcome of the retain strategy) changed no lifecycle here, so it gets no
        timeline entry that would suggest the customer had been leaving.
        """
        customer = await self._require_customer(data.customer_id, "retained")
        exiting = {"lifecycle": domain.EXITING, "exit_case_id": data.case_id}
        if any(getattr(customer, name) != value for name, value in exiting.items()):
            log.info("retention_without_exit", case_id=data.case_id)
            return False
        # Entry first: a crash before the state change heals on redelivery (still exiting).
        entry = domain.case_entry(data.case_id, data.customer_id, "retained", event.time)
        details = {"case_id": data.case_id, "offer_accepted": data.offer_accepted}
        await self._repo.add_entry(replace(entry, details=details), [])
        return await self._repo.apply_change(
            data.customer_id, domain.retained_changes(), event.id, event.time, [], exiting
        )

    async def on_exit_effective(self, customer_id: str, now: datetime) -> None:
        """Timer: the agreed exit date has come — the customer becomes a former customer."""
        customer = await self._repo.get_customer(customer_id)
        if customer is None or customer.lifecycle != domain.EXITING:
            return
        cause = deterministic_event_id(customer_id, "former", customer.exit_case_id or "")
        classified = CustomerClassified(
            customer_id=customer_id,
            classification=CustomerClass.CHURNED,
            previous=CustomerClass(customer.classification),
            reason="relationship ended: exit effective",
        ).to_event(source=self._source, event_id=cause, time=now)
        applied = await self._repo.apply_change(
            customer_id, domain.former_changes(), cause, now, [classified]
        )
        if applied:
            self._on_outbox()
        entry = domain.lifecycle_entry(
            cause, customer_id, "relationship-ended", now, {"case_id": customer.exit_case_id}
        )
        await self._repo.add_entry(entry, [])

    async def _require_customer(self, customer_id: str, what: str) -> Customer:
        customer = await self._repo.get_customer(customer_id)
        if customer is None:
            raise MissingPrerequisite(f"{what} for unknown customer {customer_id}")
        return customer

    async def customer(self, customer_id: str) -> Customer:
        found = await self._repo.get_customer(customer_id)
        if found is None:
            raise NotFound(f"customer {customer_id} not found")
        return found

    async def timeline(
        self, customer_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[TimelineEntry]:
        if not await self._repo.customer_exists(customer_id):
            raise NotFound(f"customer {customer_id} not found")
        return await self._repo.timeline(customer_id, limit=limit, before=before)
