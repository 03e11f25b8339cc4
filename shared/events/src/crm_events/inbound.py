"""Facts published into the CRM by other company systems (order system, HR, finance, legal).

Topics are ``crm.inbound.<fact>``; the CRM services only consume them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from crm_events.base import EventData
from crm_events.common import (
    AmountMinor,
    Channel,
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


class CustomerReplied(_Inbound):
    """The messaging system or call centre received the customer's answer about a complaint:
    the information the company waited for, or a dispute of the complaint's resolution."""

    business_key = ("reply_id",)

    reply_id: EntityId = Field(description="Id of the message or call in the sending system.")
    customer_id: CustomerId
    complaint_id: EntityId = Field(description="The complaint the reply is about.")
    kind: Literal["answer", "dispute"] = Field(
        description="answer: resumes a paused complaint; dispute: reopens a resolved one "
        "within the reopen window."
    )
    channel: Channel = Field(description="Channel through which the reply arrived.")
    replied_at: Timestamp = Field(description="When the customer replied.")
    reason: ShortText | None = Field(None, description="For a dispute: why, in a few words.")


class CustomerDeprioritised(_Inbound):
    """Strategy (company strategy risk): a decision deprioritises a segment or product line
    this customer belongs to. The strategy system sends one per affected customer."""

    business_key = ("change_id", "customer_id")

    change_id: EntityId = Field(description="The strategy decision (one risk episode).")
    customer_id: CustomerId
    scope: Literal["segment", "product_line"] = Field(description="What was deprioritised.")
    target: ShortText = Field(description="The segment or product line, e.g. 'legacy hardware'.")
    reason: ShortText = Field(description="Why, as the decision states it.")
    effective_at: Timestamp = Field(description="When the change takes effect.")


class RegulationChanged(_Inbound):
    """Legal (law & regulation risk): a law or regulation changed for a jurisdiction or
    segment affects this customer. The legal system sends one per affected customer."""

    business_key = ("regulation_id", "customer_id")

    regulation_id: EntityId = Field(description="The regulation change (one risk episode).")
    customer_id: CustomerId
    jurisdiction: ShortText = Field(description="Where it applies, e.g. EU, DE, CA-QC.")
    segment: ShortText | None = Field(None, description="The segment it applies to, if any.")
    summary: ShortText = Field(description="What changes for the relationship.")
    effective_at: Timestamp = Field(description="When the rule applies.")


class LegalHoldOrdered(_Inbound):
    """Legal ordered that the customer's data be kept (litigation, audit, authority
    request): no service may erase it while the hold stands."""

    business_key = ("matter_id", "customer_id")

    matter_id: EntityId = Field(description="The legal matter (becomes the hold's id).")
    customer_id: CustomerId
    reason: ShortText = Field(description="Why the data must be kept.")
    ordered_by: EmployeeId = Field(description="Counsel who ordered the hold.")
    until: Timestamp | None = Field(None, description="When the hold ends by itself, if known.")


class LegalHoldLifted(_Inbound):
    """Legal lifted a hold it ordered; the disposal may resume."""

    business_key = ("matter_id", "customer_id")

    matter_id: EntityId = Field(description="The legal matter of the hold.")
    customer_id: CustomerId
    lifted_by: EmployeeId = Field(description="Counsel who lifted the hold.")


class ReferralRecorded(_Inbound):
    """The marketing or referral system recorded that the customer referred someone who
    became a customer (loyalty's ``referral`` earning trigger). The referrer is the
    subject; a self-referral is invalid and is refused by its consumers."""

    business_key = ("referral_id",)

    referral_id: EntityId = Field(description="Id of the referral in the referral system.")
    customer_id: CustomerId = Field(description="The referrer: the customer who referred.")
    referred_customer_id: CustomerId = Field(description="The customer who was referred.")
    channel: Code | None = Field(
        None, description="How the referral came, e.g. link, code, in_person (earning rules)."
    )
    recorded_at: Timestamp = Field(description="When the referral was recorded.")


INBOUND_EVENTS: tuple[type[EventData], ...] = (
    PurchaseRecorded,
    PurchaseReturned,
    EmployeeDeparted,
    PaymentOverdue,
    ContractBreached,
    CustomerReplied,
    CustomerDeprioritised,
    RegulationChanged,
    LegalHoldOrdered,
    LegalHoldLifted,
    ReferralRecorded,
)
