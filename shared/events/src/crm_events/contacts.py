"""Facts published by (or into) the contacts context: the customer directory and timeline."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import EmailStr, Field

from crm_events.base import EventData
from crm_events.common import (
    Channel,
    Count,
    CustomerClass,
    CustomerId,
    Direction,
    EmployeeId,
    FreeText,
    Seconds,
    ShortText,
    Timestamp,
)

TeamRole = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[a-z][a-z0-9_-]*$")]
BirthDate = Annotated[
    date,
    Field(
        ge=date(1900, 1, 1),
        le=date(2199, 12, 31),
        description="A calendar date (birthday awards use its month and day).",
        json_schema_extra={"formatMinimum": "1900-01-01", "formatMaximum": "2199-12-31"},
    ),
]


class _Contacts(EventData):
    context = "contacts"


class CustomerRegistered(_Contacts):
    """A customer entered the directory (potential until the first purchase)."""

    business_key = ("customer_id",)

    customer_id: CustomerId
    kind: Literal["person", "organisation"] = Field(
        "person", description="Private person or organisation."
    )
    display_name: ShortText = Field(description="Name shown to staff (personal data).")
    email: EmailStr | None = Field(None, description="Contact e-mail (personal data).")
    phone: str | None = Field(None, max_length=40, description="Contact phone (personal data).")
    owner_id: EmployeeId = Field(description="Employee accountable for the relationship.")
    account_team: list[EmployeeId] = Field(
        default_factory=list, description="Colleagues who share the relationship."
    )
    date_of_birth: BirthDate | None = Field(None, description="Date of birth (personal data).")


class CustomerProfileUpdated(_Contacts):
    """Profile fields changed; only the fields present were changed."""

    # An assignment of the fields present: applying it again leaves the same state.
    business_key = ()

    customer_id: CustomerId
    display_name: ShortText | None = Field(None, description="New display name.")
    email: EmailStr | None = Field(None, description="New e-mail.")
    phone: str | None = Field(None, max_length=40, description="New phone.")
    account_team: list[EmployeeId] | None = Field(None, description="New account team.")
    date_of_birth: BirthDate | None = Field(None, description="New date of birth (personal data).")
    updated_by: EmployeeId | None = Field(None, description="Who made the change.")


class CustomerClassified(_Contacts):
    """The derived lifecycle class of a customer changed."""

    # A derived change notification; each one is a fact of its own.
    business_key = ()

    customer_id: CustomerId
    classification: CustomerClass = Field(description="New class.")
    previous: CustomerClass | None = Field(None, description="Class before the change.")
    reason: ShortText = Field(description="Which fact caused the change.")


class ContactLogged(_Contacts):
    """A touchpoint with the customer happened (any channel, any system)."""

    # One employee, one channel, one moment: the same touchpoint, whoever reports it.
    business_key = ("customer_id", "employee_id", "channel", "occurred_at")

    customer_id: CustomerId
    channel: Channel = Field(description="Touchpoint channel.")
    direction: Direction = Field(description="Who initiated the contact.")
    employee_id: EmployeeId = Field(description="Employee who handled the contact.")
    summary: FreeText = Field(description="What was discussed.")
    occurred_at: Timestamp = Field(description="When the contact took place.")
    duration_seconds: Seconds | None = Field(None, description="Length of a call or meeting.")


class AccountOwnerChanged(_Contacts):
    """Ownership of a customer relationship moved to another employee."""

    # Ownership may move back and forth; each move is a fact of its own.
    business_key = ()

    customer_id: CustomerId
    previous_owner_id: EmployeeId | None = Field(None, description="Owner before the change.")
    new_owner_id: EmployeeId = Field(description="Owner after the change.")
    reason: Literal["reassigned", "employee_departed"] = Field(description="Why it moved.")


class FollowUpScheduled(_Contacts):
    """A regular follow-up with the customer is due by ``due_at``."""

    business_key = ("follow_up_id",)

    customer_id: CustomerId
    follow_up_id: str = Field(min_length=1, max_length=100, description="Id of the follow-up.")
    due_at: Timestamp = Field(description="Deadline for the next contact.")
    owner_id: EmployeeId = Field(description="Who should make the contact.")


class FollowUpOverdue(_Contacts):
    """A follow-up deadline passed without any logged contact."""

    business_key = ("follow_up_id",)

    customer_id: CustomerId
    follow_up_id: str = Field(min_length=1, max_length=100, description="Id of the follow-up.")
    due_at: Timestamp = Field(description="The missed deadline.")
    owner_id: EmployeeId = Field(description="Who should have made the contact.")


class FollowUpCompleted(_Contacts):
    """A qualifying contact satisfied the open follow-up (on time or after it was overdue)."""

    business_key = ("follow_up_id",)

    customer_id: CustomerId
    follow_up_id: str = Field(min_length=1, max_length=100, description="Id of the follow-up.")
    due_at: Timestamp = Field(description="The deadline the follow-up had.")
    completed_at: Timestamp = Field(description="When the qualifying contact took place.")
    employee_id: EmployeeId = Field(description="Who made the contact.")
    on_time: bool = Field(description="The contact took place by the deadline.")


class AccountTeamChanged(_Contacts):
    """The account team of a customer changed (a manager's edit or a staff departure)."""

    # Teams change back and forth; each change is a fact of its own.
    business_key = ()

    customer_id: CustomerId
    members: dict[EmployeeId, TeamRole] = Field(
        max_length=50, description="The team from now on: employee id -> role in the team."
    )
    removed: list[EmployeeId] = Field(
        default_factory=list, max_length=50, description="Members who left the team."
    )
    reason: Literal["reassigned", "employee_departed"] = Field(description="Why it changed.")


class EmployeeHandoverCompleted(_Contacts):
    """Contacts handed over a departed employee's accounts and team seats.

    Keyed by the employee id. Counts are cumulative: a later summary (accounts found by a
    re-check) supersedes the earlier one.
    """

    business_key = ()
    subject_field = "employee_id"

    employee_id: EmployeeId
    successor_id: EmployeeId | None = Field(
        None, description="Designated successor after following the departure chain."
    )
    accounts_reassigned: Count = Field(description="Accounts whose owner was replaced.")
    team_seats_removed: Count = Field(description="Account-team memberships removed.")


CONTACTS_EVENTS: tuple[type[EventData], ...] = (
    CustomerRegistered,
    CustomerProfileUpdated,
    CustomerClassified,
    ContactLogged,
    AccountOwnerChanged,
    FollowUpScheduled,
    FollowUpOverdue,
    FollowUpCompleted,
    AccountTeamChanged,
    EmployeeHandoverCompleted,
)
