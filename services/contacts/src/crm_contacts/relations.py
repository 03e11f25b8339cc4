"""HTTP API of the relationship: the directory, owner and team (a manager's), tags, what
one employee owns, an owner's follow-up queue, and a departed employee's hand-over."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from crm_contacts.api import CustomerView, customer_view
from crm_contacts.codec import Cursor, cursor_of, follow_up_cursor
from crm_contacts.domain import Customer, Departure, DirectoryFilter
from crm_contacts.service import ContactsService
from crm_events.common import CustomerClass, EmployeeId, Timestamp
from crm_events.contacts import TeamRole
from crm_runtime.errors import DomainError
from crm_runtime.http import CustomerIdPath, EmployeeIdPath, error_responses
from crm_runtime.security import IdempotencyKey, require
from crm_runtime.settings import Role
from crm_runtime.timestamps import unstamp

_staff = Depends(require(Role.AGENT, Role.MANAGER, Role.SYSTEM))
_manager = Depends(require(Role.MANAGER))
_UNKNOWN = error_responses({404: "Unknown customer."})
_MOVED = error_responses({404: "Unknown customer.", 409: "The employee has left the company."})
Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_:-]*$")]
Limit = Annotated[int, Query(ge=1, le=100)]
After = Annotated[str | None, Query(description="Cursor from next_cursor.", max_length=200)]


class _Request(BaseModel):
    model_config = {"extra": "forbid"}


class SetOwner(_Request):
    owner_id: EmployeeId


class SetTeam(_Request):
    members: dict[EmployeeId, TeamRole] = Field(
        max_length=50, description="The whole team: employee id -> role (deputy, manager, ...)."
    )


class SetTags(_Request):
    tags: list[Tag] = Field(max_length=50)


class CustomerPage(BaseModel):
    items: list[CustomerView]
    next_cursor: str | None = Field(description="Pass as ?after= for the next page.")


class DepartureView(BaseModel):
    employee_id: str
    departed_at: Timestamp
    successor_id: str | None
    handed_over: dict[str, int] = Field(
        description="What each service handed over: contacts' accounts and team seats."
    )


def build_routers(service: ContactsService) -> list[APIRouter]:
    customers = APIRouter(prefix="/customers", tags=["customers"], dependencies=[_staff])
    staff = APIRouter(tags=["relationships"], dependencies=[_staff])

    @customers.get("")
    async def directory(
        limit: Limit = 50,
        after: After = None,
        name_prefix: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
        classification: CustomerClass | None = None,
        lifecycle: Literal["active", "exiting", "former"] | None = None,
        owner_id: Annotated[EmployeeId | None, Query()] = None,
        team_member: Annotated[EmployeeId | None, Query()] = None,
        segment: Annotated[str | None, Query(max_length=60)] = None,
        tag: Annotated[Tag | None, Query()] = None,
        registered_from: Annotated[Timestamp | None, Query()] = None,
        registered_to: Annotated[Timestamp | None, Query()] = None,
    ) -> CustomerPage:
        wanted = DirectoryFilter(
            name_prefix, classification and classification.value, lifecycle, owner_id,
            team_member, segment, tag, registered_from, registered_to,
        )  # fmt: skip
        found = await service.directory(wanted, before=_registered(after), limit=limit)
        return _page(found, limit)

    @customers.put("/{customer_id}/owner", responses=_MOVED, dependencies=[_manager])
    async def set_owner(
        customer_id: CustomerIdPath, body: SetOwner, idempotency_key: IdempotencyKey = None
    ) -> CustomerView:
        event_id = service.event_id("set-owner", customer_id, idempotency_key)
        return customer_view(await service.change_owner(customer_id, body.owner_id, event_id))

    @customers.put("/{customer_id}/team", responses=_MOVED, dependencies=[_manager])
    async def set_team(
        customer_id: CustomerIdPath, body: SetTeam, idempotency_key: IdempotencyKey = None
    ) -> CustomerView:
        event_id = service.event_id("set-team", customer_id, idempotency_key)
        return customer_view(await service.set_team(customer_id, body.members, event_id))

    @customers.put("/{customer_id}/tags", responses=_UNKNOWN, dependencies=[_manager])
    async def set_tags(
        customer_id: CustomerIdPath, body: SetTags, idempotency_key: IdempotencyKey = None
    ) -> CustomerView:
        event_id = service.event_id("set-tags", customer_id, idempotency_key)
        return customer_view(await service.set_tags(customer_id, body.tags, event_id))

    @staff.get("/employees/{employee_id}/accounts")
    async def accounts(
        employee_id: EmployeeIdPath, limit: Limit = 50, after: After = None
    ) -> CustomerPage:
        found = await service.accounts_of(employee_id, before=_registered(after), limit=limit)
        return _page(found, limit)

    @staff.get("/owners/{owner_id}/follow-ups")
    async def follow_ups(
        owner_id: EmployeeIdPath,
        state: Literal["due", "overdue"] = "due",
        limit: Limit = 50,
        after: After = None,
    ) -> CustomerPage:
        """The owner's work queue: customers whose open follow-up is in ``state``, earliest
        due first."""
        found = await service.follow_ups(owner_id, state, before=_ranked(after), limit=limit)
        next_cursor = _encode(follow_up_cursor(found[-1])) if len(found) == limit else None
        return CustomerPage(items=[customer_view(c) for c in found], next_cursor=next_cursor)

    @staff.get(
        "/departures/{employee_id}", responses=error_responses({404: "No departure recorded."})
    )
    async def departure(employee_id: EmployeeIdPath) -> DepartureView:
        return _departure_view(*await service.departures.departure(employee_id))

    return [customers, staff]


def _page(found: list[Customer], limit: int) -> CustomerPage:
    next_cursor = _encode(cursor_of(found[-1])) if len(found) == limit else None
    return CustomerPage(items=[customer_view(c) for c in found], next_cursor=next_cursor)


def _departure_view(departure: Departure, others: dict[str, int]) -> DepartureView:
    counts = {"accounts": departure.accounts, "team_seats": departure.seats} | others
    return DepartureView(
        employee_id=departure.employee_id,
        departed_at=departure.departed_at,
        successor_id=departure.successor_id,
        handed_over=counts,
    )


def _encode(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode("|".join(cursor).encode()).decode()


def _decode(cursor: str) -> Cursor:
    try:
        value, _, last_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    except (binascii.Error, UnicodeDecodeError):
        raise DomainError("invalid cursor") from None
    if not last_id:
        raise DomainError("invalid cursor")
    return value, last_id


def _registered(cursor: str | None) -> Cursor | None:
    if cursor is None:
        return None
    value, last_id = _decode(cursor)
    try:
        unstamp(value)
    except ValueError:
        raise DomainError("invalid cursor") from None
    return value, last_id


def _ranked(cursor: str | None) -> Cursor | None:
    if cursor is None:
        return None
    value, last_id = _decode(cursor)
    if len(value) != 14 or not value.isdigit():
        raise DomainError("invalid cursor")
    return value, last_id
