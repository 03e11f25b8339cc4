"""Consumed topics → service calls. Validation and DLQ routing happen in the runtime."""

from __future__ import annotations

from crm_contacts.service import ContactsService
from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_events.offboarding import CustomerRetained, ExitAgreed
from crm_runtime.app import ServiceRuntime


def register_handlers(runtime: ServiceRuntime, service: ContactsService) -> None:
    runtime.on(CustomerRegistered, service.on_customer_registered)
    runtime.on(CustomerProfileUpdated, service.on_profile_updated)
    runtime.on(ContactLogged, service.on_contact_logged)
    runtime.on(ExitAgreed, service.on_exit_agreed)
    runtime.on(CustomerRetained, service.on_customer_retained)
