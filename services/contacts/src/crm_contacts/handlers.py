"""Consumed topics → service calls. Validation and DLQ routing happen in the runtime."""

from __future__ import annotations

from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_runtime.app import ServiceRuntime

from crm_contacts.service import ContactsService


def register_handlers(runtime: ServiceRuntime, service: ContactsService) -> None:
    runtime.on(CustomerRegistered, service.on_customer_registered)
    runtime.on(CustomerProfileUpdated, service.on_profile_updated)
    runtime.on(ContactLogged, service.on_contact_logged)
