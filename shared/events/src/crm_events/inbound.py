"""Facts published into the CRM by other company systems (order system, HR, finance, legal).

Topics are ``crm.inbound.<fact>``; the CRM services only consume them.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from crm_events.base import EventData
from crm_events.common import (
    AmountMinor,
    Count,
    CurrencyCode,
    CustomerId,
    Days,
    EmployeeId,
    EntityId,
    FreeText,
    ShortText,
    Timestamp,
)

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$", description="A short code.")]


class _Inbound(EventData):
    context = "inbound"


class PurchaseRecorded(_Inbound):
    """The order system recorded a purchase by the customer."""

    business_key = ("order_id",)

    order_id: EntityId = Field(description="Order id in the order system.")
    customer_id: CustomerId
    amount_minor: AmountMinor = Field(description="Order total.")
    currency: CurrencyCode
    purchased_at: Timestamp = Field(description="When the purchase was made.")
    items_count: Annotated[Count, Field(ge=1)] | None = Field(
        None, description="Number of items in the order."
    )
    category: Code | None = Field(
        None, description="Product category of the order, e.g. electronics (earning rules)."
    )
    channel: Code | None = Field(
        None, description="Sales channel, e.g. web, store, app (earning rules)."
    )


class PurchaseReturned(_Inbound):
    """The order system recorded a (partial) return of an earlier purchase."""

    business_key = ("return_id",)

    order_id: EntityId = Field(description="Order the goods came from.")
    return_id: EntityId = Field(description="Return id in the order system.")
    customer_id: CustomerId
    amount_minor: AmountMinor = Field(description="Amount refunded.")
    currency: CurrencyCode
    returned_at: Timestamp = Field(description="When the return was accepted.")


class EmployeeDeparted(_Inbound):
    """HR recorded that an employee left; their accounts, complaints and cases move on.

    Keyed by the employee id (not a customer id): its subject is the employee.
    """

    business_key = ("employee_id",)

    subject_field = "employee_id"

    employee_id: EmployeeId
    departed_at: Timestamp = Field(description="Last working moment of the employee.")
    successor_id: EmployeeId | None = Field(
        None, description="Designated successor; without one the account team takes over."
    )


class PaymentOverdue(_Inbound):
    """Finance recorded an unpaid invoice past its due date (a hard risk signal)."""

    business_key = ("invoice_id",)
    # Finance re-sends an overdue invoice as the days add up: still one fact.
    volatile_fields = ("days_overdue",)

    invoice_id: EntityId = Field(description="Invoice id in the finance system.")
    customer_id: CustomerId
    amount_minor: AmountMinor = Field(description="Outstanding amount.")
    currency: CurrencyCode
    due_date: Timestamp = Field(description="When the payment was due.")
    days_overdue: Annotated[Days, Field(ge=1)] = Field(description="Whole days past the due date.")


class ContractBreached(_Inbound):
    """Legal recorded a breach of contract by the customer (a hard risk signal)."""

    business_key = ("contract_id", "clause")

    contract_id: EntityId = Field(description="Contract id in the contract register.")
    customer_id: CustomerId
    clause: ShortText = Field(description="The clause that was breached, e.g. 7.2 payment terms.")
    description: FreeText = Field(description="What happened.")
    detected_at: Timestamp = Field(description="When the breach was detected.")


INBOUND_EVENTS: tuple[type[EventData], ...] = (
    PurchaseRecorded,
    PurchaseReturned,
    EmployeeDeparted,
    PaymentOverdue,
    ContractBreached,
)
