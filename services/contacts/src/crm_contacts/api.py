"""HTTP API of the contacts service (OpenAPI at /docs)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from crm_contacts.domain import Customer, TimelineEntry
from crm_contacts.service import ContactsService
from crm_events.common import (
    Channel,
    CustomerId,
    Direction,
    EmployeeId,
    FreeText,
    ShortText,
    Timestamp,
)
from crm_events.contacts import (
    BirthDate,
    ContactLogged,
    CustomerProfileUpdated,
    CustomerRegistered,
)
from crm_runtime.cursors import decode_time_cursor, encode_time_cursor
from crm_runtime.errors import DomainError
from crm_runtime.http import CustomerIdPath, error_responses
from crm_runtime.security import IdempotencyKey, require
from crm_runtime.settings import Role

_staff = Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))
_UNKNOWN = error_responses({404: "Unknown customer."})
_TAKEN = error_responses({409: "The customer id is already registered."})


_BORN = (
    "Date of birth (personal data; loyalty's birthday awards use it): not in the future, "
    "not before 1900."
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterCustomer(_Request):
    customer_id: CustomerId | None = Field(None, description="Omit to have one generated.")
    kind: Literal["person", "organisation"] = "person"
    display_name: ShortText
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40)
    owner_id: EmployeeId
    account_team: list[EmployeeId] = Field(default_factory=list, max_length=50)
    date_of_birth: BirthDate | None = Field(None, description=_BORN)


class UpdateProfile(_Request):
    display_name: ShortText | None = None
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40)
    account_team: list[EmployeeId] | None = Field(None, max_length=50)
    date_of_birth: BirthDate | None = Field(None, description=_BORN)
    updated_by: EmployeeId | None = None


class LogContact(_Request):
    channel: Channel
    direction: Direction
    employee_id: EmployeeId
    summary: Annotated[FreeText, Field(min_length=1)]
    occurred_at: Timestamp
    duration_seconds: int | None = Field(None, ge=0, le=86_400)


class ClassChangeView(BaseModel):
    at: datetime
    previous: str
    classification: str
    rule: str = Field(description="The rule that fired.")


class FollowUpView(BaseModel):
    follow_up_id: str
    owner_id: str
    scheduled_at: datetime
    due_at: datetime
    state: str = Field(description="due, or overdue once due_at has passed.")


class CustomerView(BaseModel):
    customer_id: str
    kind: str
    display_name: str
    email: str | None
    phone: str | None
    date_of_birth: date | None = Field(description="Personal data; gone after an erasure.")
    owner_id: str
    account_team: list[str]
    team: dict[str, str] = Field(description="Account team: employee id -> role.")
    classification: str
    history: list[ClassChangeView] = Field(description="Classification changes, oldest first.")
    segments: list[str] = Field(description="axis:band, e.g. frequency:regular, tier:gold.")
    tags: list[str]
    tier: str | None
    purchase_count: int
    last_purchase_at: datetime | None
    last_contact_at: datetime | None
    follow_up: FollowUpView | None
    departed_owners: list[str] = Field(description="Former owners who left the company.")
    lifecycle: str = Field(description="active, exiting (exit agreed) or former.")
    exit_case_id: str | None = None
    exit_effective_at: datetime | None = None
    registered_at: datetime
    version: int


class TimelineEntryView(BaseModel):
    entry_id: str
    customer_id: str
    kind: str
    occurred_at: datetime
    details: dict[str, Any]


class TimelinePage(BaseModel):
    items: list[TimelineEntryView]
    next_cursor: str | None = Field(description="Pass as ?before= to get older entries.")


def build_router(service: ContactsService) -> APIRouter:
    router = APIRouter(prefix="/customers", tags=["customers"], dependencies=[_staff])

    @router.post("", status_code=status.HTTP_201_CREATED, responses=_TAKEN)
    async def register_customer(
        body: RegisterCustomer, idempotency_key: IdempotencyKey = None
    ) -> CustomerView:
        customer_id = body.customer_id or f"cus-{uuid.uuid4().hex[:16]}"
        data = CustomerRegistered(
            customer_id=customer_id, **body.model_dump(exclude={"customer_id"})
        )
        event_id = service.event_id("register", customer_id, idempotency_key)
        return customer_view(await service.register(data, event_id))

    @router.get("/{customer_id}", responses=_UNKNOWN)
    async def get_customer(customer_id: CustomerIdPath) -> CustomerView:
        return customer_view(await service.customer(customer_id))

    @router.patch("/{customer_id}", responses=_UNKNOWN)
    async def update_profile(
        customer_id: CustomerIdPath, body: UpdateProfile, idempotency_key: IdempotencyKey = None
    ) -> CustomerView:
        if not body.model_dump(exclude_none=True, exclude={"updated_by"}):
            raise DomainError("nothing to update: send at least one profile field")
        data = CustomerProfileUpdated(customer_id=customer_id, **body.model_dump())
        event_id = service.event_id("update-profile", customer_id, idempotency_key)
        return customer_view(await service.update_profile(data, event_id))

    @router.post("/{customer_id}/contacts", status_code=status.HTTP_201_CREATED, responses=_UNKNOWN)
    async def log_contact(
        customer_id: CustomerIdPath, body: LogContact, idempotency_key: IdempotencyKey = None
    ) -> TimelineEntryView:
        data = ContactLogged(customer_id=customer_id, **body.model_dump())
        event_id = service.event_id("log-contact", customer_id, idempotency_key)
        return _entry_view(await service.log_contact(data, event_id))

    @router.get("/{customer_id}/timeline", responses=_UNKNOWN)
    async def timeline(
        customer_id: CustomerIdPath,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        before: Annotated[str | None, Query(description="Cursor from next_cursor.")] = None,
    ) -> TimelinePage:
        entries = await service.timeline(
            customer_id, limit=limit, before=decode_time_cursor(before)
        )
        next_cursor = _encode_cursor(entries[-1]) if len(entries) == limit else None
        return TimelinePage(items=[_entry_view(e) for e in entries], next_cursor=next_cursor)

    return router


def customer_view(customer: Customer) -> CustomerView:
    return CustomerView.model_validate(customer, from_attributes=True)


def _entry_view(entry: TimelineEntry) -> TimelineEntryView:
    return TimelineEntryView.model_validate(entry, from_attributes=True)


def _encode_cursor(entry: TimelineEntry) -> str:
    return encode_time_cursor(entry.occurred_at, entry.entry_id)
