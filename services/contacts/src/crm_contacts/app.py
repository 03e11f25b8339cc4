"""Composition root of the contacts service."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from crm_contacts import codec, relations
from crm_contacts.api import build_router
from crm_contacts.departures import Departures
from crm_contacts.handlers import register_handlers
from crm_contacts.memory import register_memory
from crm_contacts.service import ContactsService
from crm_contacts.settings import ContactsSettings
from crm_events import EventData
from crm_events.contacts import (
    AccountOwnerChanged,
    AccountTeamChanged,
    ContactLogged,
    CustomerClassified,
    CustomerProfileUpdated,
    CustomerRegistered,
    EmployeeHandoverCompleted,
    FollowUpCompleted,
    FollowUpOverdue,
    FollowUpScheduled,
)
from crm_events.offboarding import PersonalDataErased, PersonalDataExported
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.store import Backend

PUBLISHED: list[type[EventData]] = [
    CustomerRegistered,
    CustomerProfileUpdated,
    ContactLogged,
    CustomerClassified,
    AccountOwnerChanged,
    AccountTeamChanged,
    EmployeeHandoverCompleted,
    FollowUpScheduled,
    FollowUpOverdue,
    FollowUpCompleted,
    PersonalDataErased,
    PersonalDataExported,
]


def create_app(
    settings: ContactsSettings | None = None,
    clock: Clock | None = None,
    *,
    store: Backend | None = None,
) -> FastAPI:
    """``store``: where aggregates live (default MongoDB; the unit tests pass in-memory)."""
    settings = settings or ContactsSettings()
    runtime = ServiceRuntime(settings, clock=clock, backend=store)
    customers = runtime.aggregates(codec.CustomerCodec())
    rules = settings.rules()
    departures = Departures(
        runtime.aggregates(codec.DepartureCodec()),
        customers,
        runtime.clock,
        source=runtime.source,
        rules=rules,
        recheck=timedelta(seconds=settings.departure_recheck_s),
    )
    service = ContactsService(
        customers, departures, runtime.clock, source=runtime.source, rules=rules
    )
    register_handlers(runtime, service)
    register_memory(runtime, service)
    runtime.sweep_aggregates("customers", customers, service.due)
    runtime.sweep_aggregates("departures", departures.store, departures.recheck)
    outboxes = (codec.CUSTOMERS, codec.TIMELINE, codec.DEPARTURES)
    runtime.publishes(PUBLISHED, outboxes=[runtime.db[name] for name in outboxes])
    if store is None:
        runtime.on_startup(lambda: codec.ensure_indexes(runtime.db))
    app = runtime.build_app(
        title="CRM contacts service",
        routers=[build_router(service), *relations.build_routers(service)],
    )
    app.state.service = service
    return app
