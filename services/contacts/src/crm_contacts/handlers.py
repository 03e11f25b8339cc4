"""Consumed topics → translator → one service call. Validation, business keys and DLQ
routing happen in the runtime; every consumed fact touches the customer it names, except a
departure, which touches the employee's departure record (and then their accounts)."""

from __future__ import annotations

from typing import Any

from crm_contacts import translate
from crm_contacts.service import ContactsService
from crm_events import CloudEvent
from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_events.inbound import EmployeeDeparted, PurchaseRecorded, PurchaseReturned
from crm_events.loyalty import TierChanged
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    PersonalDataErasureRequested,
    PersonalDataExportRequested,
    RelationshipEnded,
)
from crm_runtime.app import ServiceRuntime


def register_handlers(runtime: ServiceRuntime, service: ContactsService) -> None:
    customer = (service.customers, lambda data: data.customer_id)

    async def registered(data: CustomerRegistered, event: CloudEvent) -> bool:
        return await service.registered(translate.registration(data, event))

    async def profile_updated(data: CustomerProfileUpdated, event: CloudEvent) -> bool:
        return await service.profile_updated(translate.profile_change(data, event))

    async def contact_logged(data: ContactLogged, event: CloudEvent) -> bool:
        return await service.contact_logged(translate.touchpoint(data, event))

    async def exit_agreed(data: ExitAgreed, event: CloudEvent) -> bool:
        return await service.exit_agreed(translate.exit_agreement(data, event))

    async def retained(data: CustomerRetained, event: CloudEvent) -> bool:
        return await service.retained(translate.retention(data, event))

    async def relationship_ended(data: RelationshipEnded, event: CloudEvent) -> bool:
        return await service.relationship_ended(translate.relationship_end(data, event))

    async def erasure_requested(data: PersonalDataErasureRequested, event: CloudEvent) -> bool:
        return await service.erasure_requested(translate.erasure_request(data, event))

    async def export_requested(data: PersonalDataExportRequested, event: CloudEvent) -> bool:
        return await service.export_requested(translate.export_request(data, event))

    async def purchased(data: PurchaseRecorded, event: CloudEvent) -> bool:
        return await service.purchased(translate.purchase(data, event))

    async def returned(data: PurchaseReturned, event: CloudEvent) -> bool:
        return await service.purchase_returned(translate.purchase_return(data, event))

    async def tier_changed(data: TierChanged, event: CloudEvent) -> bool:
        return await service.tier_changed(translate.tier_change(data, event))

    async def departed(data: EmployeeDeparted, event: CloudEvent) -> bool:
        return await service.departures.departed(translate.departure(data, event))

    handlers: dict[Any, Any] = {
        CustomerRegistered: registered,
        CustomerProfileUpdated: profile_updated,
        ContactLogged: contact_logged,
        ExitAgreed: exit_agreed,
        CustomerRetained: retained,
        RelationshipEnded: relationship_ended,
        PersonalDataErasureRequested: erasure_requested,
        PersonalDataExportRequested: export_requested,
        PurchaseRecorded: purchased,
        PurchaseReturned: returned,
        TierChanged: tier_changed,
    }
    for model, handler in handlers.items():
        runtime.on(model, handler, aggregate=customer)
    leavers = service.departures.store
    runtime.on(EmployeeDeparted, departed, aggregate=(leavers, lambda data: data.employee_id))
    # Who of the named staff has left (an account goes where their accounts went): read
    # with the poll's customers, in one query.
    runtime.reads(CustomerRegistered, (leavers, lambda data: [data.owner_id, *data.account_team]))
    runtime.reads(CustomerProfileUpdated, (leavers, lambda data: data.account_team or []))
