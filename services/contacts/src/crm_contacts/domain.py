"""Contacts domain: customers and their company-wide timeline. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crm_events import deterministic_event_id
from crm_events.common import CustomerClass
from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_events.offboarding import ExitAgreed
from crm_runtime.errors import DomainError

# Contacts may be logged a little ahead of our clock (skew) but not in the future.
MAX_CLOCK_SKEW = timedelta(minutes=5)
PROFILE_FIELDS = ("display_name", "email", "phone", "account_team")

# Lifecycle of the relationship (independent of the derived classification).
ACTIVE, EXITING, FORMER = "active", "exiting", "former"


@dataclass
class Customer:
    customer_id: str
    kind: str
    display_name: str
    owner_id: str
    registered_at: datetime
    email: str | None = None
    phone: str | None = None
    account_team: list[str] = field(default_factory=list)
    classification: str = CustomerClass.POTENTIAL.value
    lifecycle: str = ACTIVE
    exit_case_id: str | None = None
    exit_effective_at: datetime | None = None
    version: int = 1

    @classmethod
    def register(cls, data: CustomerRegistered, at: datetime) -> Customer:
        return cls(
            customer_id=data.customer_id,
            kind=data.kind,
            display_name=data.display_name,
            owner_id=data.owner_id,
            registered_at=at,
            email=data.email,
            phone=data.phone,
            account_team=sorted(set(data.account_team) - {data.owner_id}),
        )


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the customer's timeline; ``entry_id`` is the id of the event behind it
    (derived from the case for case facts, see ``case_entry``)."""

    entry_id: str
    customer_id: str
    kind: str
    occurred_at: datetime
    details: dict[str, Any]


def profile_changes(data: CustomerProfileUpdated) -> dict[str, Any]:
    """Only the fields the event carries are changed."""
    changes = {name: getattr(data, name) for name in PROFILE_FIELDS}
    return {name: value for name, value in changes.items() if value is not None}


def check_contact_time(occurred_at: datetime, now: datetime) -> None:
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise DomainError("occurred_at lies in the future")


def contact_entry(event_id: str, data: ContactLogged) -> TimelineEntry:
    return TimelineEntry(
        entry_id=event_id,
        customer_id=data.customer_id,
        kind="contact",
        occurred_at=data.occurred_at,
        details={
            "channel": data.channel.value,
            "direction": data.direction.value,
            "employee_id": data.employee_id,
            "summary": data.summary,
            "duration_seconds": data.duration_seconds,
        },
    )


def registration_entry(event_id: str, customer: Customer) -> TimelineEntry:
    return TimelineEntry(
        entry_id=event_id,
        customer_id=customer.customer_id,
        kind="registered",
        occurred_at=customer.registered_at,
        details={"owner_id": customer.owner_id},
    )


def profile_entry(event_id: str, data: CustomerProfileUpdated, at: datetime) -> TimelineEntry:
    # Which fields changed, never their values: the timeline is read widely.
    return TimelineEntry(
        entry_id=event_id,
        customer_id=data.customer_id,
        kind="profile-updated",
        occurred_at=at,
        details={"fields": sorted(profile_changes(data)), "updated_by": data.updated_by},
    )


def exit_agreed_changes(data: ExitAgreed) -> dict[str, Any]:
    return {
        "lifecycle": EXITING,
        "exit_case_id": data.case_id,
        "exit_effective_at": data.effective_date,
    }


def retained_changes() -> dict[str, Any]:
    return {"lifecycle": ACTIVE, "exit_case_id": None, "exit_effective_at": None}


def former_changes() -> dict[str, Any]:
    return {"lifecycle": FORMER, "classification": CustomerClass.CHURNED.value}


def lifecycle_entry(
    event_id: str, customer_id: str, kind: str, at: datetime, details: dict[str, Any]
) -> TimelineEntry:
    return TimelineEntry(
        entry_id=event_id, customer_id=customer_id, kind=kind, occurred_at=at, details=details
    )


def case_entry(case_id: str, customer_id: str, kind: str, at: datetime) -> TimelineEntry:
    """A case fact's entry is keyed by (customer, case, kind), not by the event that told
    us: the same case reported again under a new event id adds nothing."""
    entry_id = deterministic_event_id("timeline", customer_id, case_id, kind)
    return lifecycle_entry(entry_id, customer_id, kind, at, {"case_id": case_id})
