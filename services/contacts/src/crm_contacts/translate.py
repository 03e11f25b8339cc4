"""Translators at the edge: consumed wire models become contacts' own facts, once. A v2 of
a wire event changes only this module."""

from __future__ import annotations

from crm_contacts.domain import (
    PROFILE_FIELDS,
    ExitAgreement,
    ProfileChange,
    PurchaseMade,
    PurchaseReturn,
    Registration,
    RelationshipEnd,
    Retention,
    StaffDeparture,
    TierChange,
    Touchpoint,
)
from crm_contacts.erasure import ErasureRequest
from crm_contacts.portability import ExportRequest
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


def registration(data: CustomerRegistered, event: CloudEvent) -> Registration:
    return Registration(
        event_id=event.id,
        customer_id=data.customer_id,
        kind=data.kind,
        display_name=data.display_name,
        owner_id=data.owner_id,
        at=event.time,
        email=data.email,
        phone=data.phone,
        account_team=tuple(data.account_team),
        date_of_birth=data.date_of_birth,
    )


def profile_change(data: CustomerProfileUpdated, event: CloudEvent) -> ProfileChange:
    """Only the fields the event carries are changed."""
    changes = {name: getattr(data, name) for name in PROFILE_FIELDS}
    present = {name: value for name, value in changes.items() if value is not None}
    return ProfileChange(event.id, data.customer_id, present, data.updated_by, event.time)


def touchpoint(data: ContactLogged, event: CloudEvent) -> Touchpoint:
    return Touchpoint(
        event_id=event.id,
        customer_id=data.customer_id,
        channel=data.channel.value,
        direction=data.direction.value,
        employee_id=data.employee_id,
        summary=data.summary,
        occurred_at=data.occurred_at,
        duration_seconds=data.duration_seconds,
    )


def exit_agreement(data: ExitAgreed, event: CloudEvent) -> ExitAgreement:
    return ExitAgreement(event.id, data.customer_id, data.case_id, data.effective_date, event.time)


def retention(data: CustomerRetained, event: CloudEvent) -> Retention:
    return Retention(event.id, data.customer_id, data.case_id, data.offer_accepted, event.time)


def relationship_end(data: RelationshipEnded, event: CloudEvent) -> RelationshipEnd:
    return RelationshipEnd(event.id, data.customer_id, data.case_id, data.ended_at)


def erasure_request(data: PersonalDataErasureRequested, event: CloudEvent) -> ErasureRequest:
    return ErasureRequest(event.id, data.customer_id, data.case_id, data.requested_at)


def export_request(data: PersonalDataExportRequested, event: CloudEvent) -> ExportRequest:
    return ExportRequest(event.id, data.export_id, data.case_id, data.customer_id)


def purchase(data: PurchaseRecorded, event: CloudEvent) -> PurchaseMade:
    return PurchaseMade(
        event.id, data.customer_id, data.order_id, data.amount_minor, data.purchased_at
    )


def purchase_return(data: PurchaseReturned, event: CloudEvent) -> PurchaseReturn:
    return PurchaseReturn(
        event_id=event.id,
        customer_id=data.customer_id,
        order_id=data.order_id,
        return_id=data.return_id,
        amount_minor=data.amount_minor,
        at=data.returned_at,
    )


def tier_change(data: TierChanged, event: CloudEvent) -> TierChange:
    return TierChange(event.id, data.customer_id, data.previous_tier, data.new_tier, event.time)


def departure(data: EmployeeDeparted, event: CloudEvent) -> StaffDeparture:
    return StaffDeparture(event.id, data.employee_id, data.departed_at, data.successor_id)
