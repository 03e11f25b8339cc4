"""Translators at the edge: consumed wire models become loyalty's own facts, once. A v2 of
a wire event changes only this module (and ``signals``, which turns the health side's
facts into signals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm_events import CloudEvent
from crm_events.contacts import CustomerRegistered
from crm_events.inbound import PurchaseRecorded, PurchaseReturned
from crm_events.offboarding import ExitAgreed, RelationshipEnded


class _Caused:
    """A fact keeps the envelope it came in (its id is the applied marker)."""

    cause: CloudEvent

    @property
    def event_id(self) -> str:
        return self.cause.id


@dataclass(frozen=True)
class Registration(_Caused):
    customer_id: str
    registered_at: datetime
    cause: CloudEvent


@dataclass(frozen=True)
class Purchase(_Caused):
    customer_id: str
    order_id: str
    amount_minor: int
    currency: str
    purchased_at: datetime
    cause: CloudEvent


@dataclass(frozen=True)
class Return(_Caused):
    customer_id: str
    order_id: str
    return_id: str
    amount_minor: int
    currency: str
    returned_at: datetime
    cause: CloudEvent


@dataclass(frozen=True)
class Exit(_Caused):
    customer_id: str
    subject: str
    case_id: str | None
    cause: CloudEvent


Fact = Registration | Purchase | Return | Exit


def registration(data: CustomerRegistered, event: CloudEvent) -> Registration:
    """The account opens when the registration event was published."""
    return Registration(customer_id=data.customer_id, registered_at=event.time, cause=event)


def purchase(data: PurchaseRecorded, event: CloudEvent) -> Purchase:
    return Purchase(
        customer_id=data.customer_id,
        order_id=data.order_id,
        amount_minor=data.amount_minor,
        currency=data.currency,
        purchased_at=data.purchased_at,
        cause=event,
    )


def return_(data: PurchaseReturned, event: CloudEvent) -> Return:
    return Return(
        customer_id=data.customer_id,
        order_id=data.order_id,
        return_id=data.return_id,
        amount_minor=data.amount_minor,
        currency=data.currency,
        returned_at=data.returned_at,
        cause=event,
    )


def exit_agreed(data: ExitAgreed, event: CloudEvent) -> Exit:
    return Exit(
        customer_id=data.customer_id, subject=data.subject, case_id=data.case_id, cause=event
    )


def relationship_ended(data: RelationshipEnded, event: CloudEvent) -> Exit:
    return Exit(
        customer_id=data.customer_id, subject=data.subject, case_id=data.case_id, cause=event
    )
