"""Contacts domain: customers, their company-wide timeline, and the facts contacts learns.
Pure, no I/O; wire models never reach it (``translate`` turns them into facts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from crm_events import deterministic_event_id
from crm_events.common import CustomerClass
from crm_runtime.errors import DomainError

# Contacts may be logged a little ahead of our clock (skew) but not in the future.
MAX_CLOCK_SKEW = timedelta(minutes=5)
PROFILE_FIELDS = ("display_name", "email", "phone", "account_team", "date_of_birth")
EARLIEST_BIRTH = date(1900, 1, 1)

# Lifecycle of the relationship (independent of the derived classification).
ACTIVE, EXITING, FORMER = "active", "exiting", "former"


MEMBER = "member"  # the role of a team member named without one (registration, profile)


@dataclass(frozen=True)
class Purchase:
    """An order within the frequency window; ``returned_minor`` adds up its returns."""

    at: datetime
    amount_minor: int
    returned_minor: int = 0

    @property
    def counts(self) -> bool:
        return self.returned_minor < self.amount_minor


@dataclass(frozen=True)
class ClassChange:
    """One line of the classification history: what changed, when, and which rule fired."""

    at: datetime
    previous: str
    classification: str
    rule: str


@dataclass(frozen=True)
class FollowUp:
    """The open regular follow-up: ``due`` until its due date passes, then ``overdue``."""

    follow_up_id: str
    owner_id: str
    scheduled_at: datetime
    due_at: datetime
    state: str = "due"


@dataclass
class Customer:
    customer_id: str
    kind: str
    display_name: str
    owner_id: str
    registered_at: datetime
    email: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None  # personal data: never logged, erased with the rest
    team: dict[str, str] = field(default_factory=dict)  # employee id -> role in the team
    classification: str = CustomerClass.POTENTIAL.value
    lifecycle: str = ACTIVE
    exit_case_id: str | None = None
    exit_effective_at: datetime | None = None
    registered_by: str = ""
    # Data disposal (erasure.py): the tombstone every later fact is checked against.
    erased_at: datetime | None = None
    erasure_case_id: str | None = None
    erasure_request_id: str | None = None
    erasure_attested_at: datetime | None = None
    tags: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    tier: str | None = None
    tier_at: datetime | None = None  # when the tier held was given (older changes lose)
    purchases: dict[str, Purchase] = field(default_factory=dict)  # within the window
    purchase_count: int = 0
    last_purchase_at: datetime | None = None
    last_contact_at: datetime | None = None
    history: list[ClassChange] = field(default_factory=list)  # oldest first, bounded
    departed_owners: list[str] = field(default_factory=list)  # owners who left the company
    departed_members: list[str] = field(default_factory=list)  # team members who left
    follow_up: FollowUp | None = None
    follow_ups: int = 0  # how many were ever scheduled (numbers the next one)
    win_back_scheduled: bool = False
    version: int = 1

    @property
    def account_team(self) -> list[str]:
        return sorted(self.team)

    @property
    def erasure_due_at(self) -> datetime | None:
        """An erasure to finish (the sweeper overwrites the timeline and attests)."""
        if self.erased_at is not None and self.erasure_attested_at is None:
            return self.erased_at
        return None

    @classmethod
    def register(cls, fact: Registration) -> Customer:
        team = {member: MEMBER for member in fact.account_team if member != fact.owner_id}
        return cls(
            customer_id=fact.customer_id,
            kind=fact.kind,
            display_name=fact.display_name,
            owner_id=fact.owner_id,
            registered_at=fact.at,
            email=fact.email,
            phone=fact.phone,
            date_of_birth=fact.date_of_birth,
            team=dict(sorted(team.items())),
            registered_by=fact.event_id,
        )


# --- facts: what contacts learns, in its own words (``translate`` makes them from the wire)
@dataclass(frozen=True)
class Registration:
    event_id: str
    customer_id: str
    kind: str
    display_name: str
    owner_id: str
    at: datetime
    email: str | None = None
    phone: str | None = None
    account_team: tuple[str, ...] = ()
    date_of_birth: date | None = None


@dataclass(frozen=True)
class ProfileChange:
    event_id: str
    customer_id: str
    changes: dict[str, Any]
    updated_by: str | None
    at: datetime


@dataclass(frozen=True)
class Touchpoint:
    event_id: str
    customer_id: str
    channel: str
    direction: str
    employee_id: str
    summary: str
    occurred_at: datetime
    duration_seconds: int | None = None


@dataclass(frozen=True)
class ExitAgreement:
    event_id: str
    customer_id: str
    case_id: str
    effective_date: datetime
    at: datetime


@dataclass(frozen=True)
class Retention:
    event_id: str
    customer_id: str
    case_id: str
    offer_accepted: bool
    at: datetime


@dataclass(frozen=True)
class RelationshipEnd:
    event_id: str
    customer_id: str
    case_id: str
    ended_at: datetime


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the customer's timeline; ``entry_id`` is the id of the event behind it
    (derived from the case for case facts, see ``case_entry``)."""

    entry_id: str
    customer_id: str
    kind: str
    occurred_at: datetime
    details: dict[str, Any]


def check_contact_time(occurred_at: datetime, now: datetime) -> None:
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise DomainError("occurred_at lies in the future")


def check_birth_date(born: date | None, now: datetime) -> None:
    """A date of birth entered by staff: a real one, not in the future, not before 1900."""
    if born is None:
        return
    if born > now.date():
        raise DomainError("date_of_birth lies in the future")
    if born < EARLIEST_BIRTH:
        raise DomainError("date_of_birth lies before 1900")


def contact_entry(fact: Touchpoint) -> TimelineEntry:
    return TimelineEntry(
        entry_id=fact.event_id,
        customer_id=fact.customer_id,
        kind="contact",
        occurred_at=fact.occurred_at,
        details={
            "channel": fact.channel,
            "direction": fact.direction,
            "employee_id": fact.employee_id,
            "summary": fact.summary,
            "duration_seconds": fact.duration_seconds,
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


def profile_entry(fact: ProfileChange) -> TimelineEntry:
    # Which fields changed, never their values: the timeline is read widely.
    return TimelineEntry(
        entry_id=fact.event_id,
        customer_id=fact.customer_id,
        kind="profile-updated",
        occurred_at=fact.at,
        details={"fields": sorted(fact.changes), "updated_by": fact.updated_by},
    )


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


@dataclass(frozen=True)
class PurchaseMade:
    event_id: str
    customer_id: str
    order_id: str
    amount_minor: int
    at: datetime


@dataclass(frozen=True)
class PurchaseReturn:
    event_id: str
    customer_id: str
    order_id: str
    return_id: str
    amount_minor: int
    at: datetime


@dataclass(frozen=True)
class TierChange:
    event_id: str
    customer_id: str
    previous_tier: str | None
    new_tier: str
    at: datetime


@dataclass(frozen=True)
class StaffDeparture:
    event_id: str
    employee_id: str
    departed_at: datetime
    successor_id: str | None


@dataclass
class Departure:
    """An employee who left: who succeeds them, and what contacts handed over (counts)."""

    employee_id: str
    departed_at: datetime
    successor_id: str | None
    recorded_by: str
    accounts: int = 0
    seats: int = 0
    recheck_at: datetime | None = None  # the hand-over runs once more then
    version: int = 1


@dataclass(frozen=True)
class Handover:
    """Another service moved one item (a complaint, a case) off a departed employee."""

    entry_id: str  # the id of the event that told us
    employee_id: str
    service: str
    customer_id: str
    at: datetime


@dataclass(frozen=True)
class DirectoryFilter:
    """``GET /customers``: every filter given must hold."""

    name_prefix: str | None = None
    classification: str | None = None
    lifecycle: str | None = None
    owner_id: str | None = None
    team_member: str | None = None
    segment: str | None = None
    tag: str | None = None
    registered_from: datetime | None = None
    registered_to: datetime | None = None
