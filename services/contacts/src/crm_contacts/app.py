"""Composition root of the contacts service."""

from __future__ import annotations

from fastapi import FastAPI

from crm_contacts.api import build_router
from crm_contacts.handlers import register_handlers
from crm_contacts.mongo_repository import MongoContactsRepository
from crm_contacts.service import ContactsService
from crm_contacts.settings import ContactsSettings
from crm_events.contacts import (
    ContactLogged,
    CustomerClassified,
    CustomerProfileUpdated,
    CustomerRegistered,
)
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock


def create_app(settings: ContactsSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or ContactsSettings(), clock=clock)
    repository = MongoContactsRepository(runtime.db)
    service = ContactsService(
        repository, runtime.clock, source=runtime.source, on_outbox=runtime.notify_outbox
    )
    register_handlers(runtime, service)
    runtime.sweep(
        "exits", repository.customers, lambda doc, now: service.on_exit_effective(doc["_id"], now)
    )
    runtime.publishes(
        [CustomerRegistered, CustomerProfileUpdated, ContactLogged, CustomerClassified],
        outboxes=[repository.customers, repository.timeline_entries],
    )
    runtime.on_startup(repository.ensure_indexes)
    return runtime.build_app(title="CRM contacts service", routers=[build_router(service)])
