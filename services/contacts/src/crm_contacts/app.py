"""Composition root of the contacts service."""

from __future__ import annotations

from fastapi import FastAPI

from crm_contacts import codec
from crm_contacts.api import build_router
from crm_contacts.handlers import register_handlers
from crm_contacts.service import ContactsService
from crm_contacts.settings import ContactsSettings
from crm_events.contacts import (
    ContactLogged,
    CustomerClassified,
    CustomerProfileUpdated,
    CustomerRegistered,
)
from crm_events.offboarding import PersonalDataErased, PersonalDataExported
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.store import Backend


def create_app(
    settings: ContactsSettings | None = None,
    clock: Clock | None = None,
    *,
    store: Backend | None = None,
) -> FastAPI:
    """``store``: where aggregates live (default MongoDB; the unit tests pass in-memory)."""
    runtime = ServiceRuntime(settings or ContactsSettings(), clock=clock, backend=store)
    customers = runtime.aggregates(codec.CustomerCodec())
    service = ContactsService(customers, runtime.clock, source=runtime.source)
    register_handlers(runtime, service)
    runtime.sweep_aggregates("exits", customers, service.on_due)
    runtime.publishes(
        [
            CustomerRegistered,
            CustomerProfileUpdated,
            ContactLogged,
            CustomerClassified,
            PersonalDataErased,
            PersonalDataExported,
        ],
        outboxes=[runtime.db[codec.CUSTOMERS], runtime.db[codec.TIMELINE]],
    )
    if store is None:
        runtime.on_startup(lambda: codec.ensure_indexes(runtime.db))
    app = runtime.build_app(title="CRM contacts service", routers=[build_router(service)])
    app.state.service = service
    return app
