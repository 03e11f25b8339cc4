"""Facts published by the offboarding context: the dissolution process from risk to review.

risk identified -> case opened -> (offer, negotiation rounds) -> exit agreed | retained ->
relationship ended -> personal data erased (one attestation per service) -> case closed.
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
    EmployeeId,
    EntityId,
    FreeText,
    RiskCategory,
    ShortText,
    Timestamp,
)


class _Offboarding(EventData):
    context = "offboarding"


class OffboardingCaseOpened(_Offboarding):
    """A dissolution case was opened for a detected risk; assessment and strategy start."""

    business_key = ("case_id",)

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    risk_id: EntityId = Field(description="The RiskDetected episode that opened the case.")
    category: RiskCategory = Field(description="Risk category carried over from the risk.")
    reasons: list[ShortText] = Field(min_length=1, description="Reasons carried over.")
    owner_id: EmployeeId | None = Field(None, description="Case manager, if already assigned.")


class RetentionOfferMade(_Offboarding):
    """The company offered the customer something to stay (the retain strategy)."""

    # A case may see several offers, none with an id of its own.
    business_key = ()

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    offer: FreeText = Field(min_length=1, description="What is offered, as told to the customer.")
    value_minor: AmountMinor = Field(description="Monetary value of the offer.")
    currency: CurrencyCode
    valid_until: Timestamp = Field(description="The offer lapses after this moment.")
    made_by: EmployeeId = Field(description="Employee who made the offer.")


class NegotiationRoundHeld(_Offboarding):
    """One round of the communication plan took place with the customer."""

    business_key = ("case_id", "round")

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    round: Annotated[Count, Field(ge=1)] = Field(description="Round number, starting at 1.")
    channel: Channel = Field(description="Where the round took place.")
    participants: list[EmployeeId] = Field(
        min_length=1, description="Employees who took part for the company."
    )
    outcome: Literal["continue", "agreement_reached", "stalled"] = Field(
        description="Result of the round."
    )
    notes: FreeText | None = Field(None, description="Minutes of the round.")
    held_at: Timestamp | None = Field(
        None, description="When the round took place (defaults to the envelope time)."
    )


class ExitAgreed(_Offboarding):
    """Customer and company signed the termination agreement (the terminate strategy)."""

    business_key = ("case_id",)

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    effective_date: Timestamp = Field(description="When the relationship ends.")
    compensation_minor: AmountMinor = Field(description="Compensation paid to the customer.")
    currency: CurrencyCode
    terms: FreeText = Field(description="Summary of the agreed terms.")
    agreed_by: EmployeeId = Field(description="Employee who signed for the company.")
    follow_up_until: Timestamp | None = Field(
        None, description="End of the follow-up service period after the exit, if any."
    )


class CustomerRetained(_Offboarding):
    """The customer stays; the case heads for its review."""

    business_key = ("case_id",)

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    offer_accepted: bool = Field(description="True if a retention offer was accepted.")
    retained_by: EmployeeId = Field(description="Employee who retained the customer.")


class RelationshipEnded(_Offboarding):
    """The relationship ended on its effective date; services freeze, settle and dispose."""

    business_key = ("case_id",)

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    ended_at: Timestamp = Field(description="When the relationship ended.")


class PersonalDataErased(_Offboarding):
    """One service attests that it erased or anonymised the customer's personal data."""

    business_key = ("case_id", "service")

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    service: str = Field(
        min_length=1,
        max_length=50,
        pattern=r"^[a-z][a-z0-9-]*$",
        description="Attesting service, e.g. contacts, feedback, loyalty, offboarding.",
    )
    method: Literal["erased", "anonymised"] = Field(description="How the data was disposed of.")
    legal_hold: bool = Field(
        description="True if some records are kept under a legal hold (retention duty)."
    )
    attested_at: Timestamp = Field(description="When the disposal was completed.")
    # Added by issue 9 (optional, so earlier readers and writers are unaffected):
    erased_fields: list[ShortText] | None = Field(
        None,
        max_length=50,
        description="What was erased or anonymised, e.g. name, email, timeline.notes.",
    )
    records: Count | None = Field(None, description="How many records were touched.")


class OffboardingCaseClosed(_Offboarding):
    """The lessons-learned review is done and the case is closed."""

    business_key = ("case_id",)

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    outcome: Literal["exited", "retained"] = Field(description="How the case ended.")
    lessons_learned: FreeText | None = Field(None, description="Findings of the review.")
    closed_at: Timestamp = Field(description="When the case was closed.")
    # Added by issue 9 (optional): the structured lessons-learned review.
    root_causes: list[RiskCategory] | None = Field(
        None, max_length=4, description="Root causes among the four risk categories."
    )
    preventable: bool | None = Field(None, description="Whether the loss could have been avoided.")
    late_signals: list[ShortText] | None = Field(
        None, max_length=20, description="Signals that came too late (event types or names)."
    )
    changes: list[ShortText] | None = Field(
        None, max_length=20, description="What to change so the next risk is handled better."
    )


ServiceName = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9-]*$")]


class PersonalDataErasureRequested(_Offboarding):
    """The retention period after the end has passed and no legal hold applies: every
    service holding the customer's personal data erases or anonymises it, keeps the
    non-personal facts (amounts, dates, counts, categories) and attests with
    ``PersonalDataErased`` for this case."""

    business_key = ("case_id",)

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    requested_at: Timestamp = Field(description="When the erasure was requested.")
    services: list[ServiceName] = Field(
        min_length=1, max_length=20, description="Services expected to attest."
    )
    attest_by: Timestamp = Field(description="Attestations missing then are reported overdue.")


class RetentionOfferExpired(_Offboarding):
    """The retention offer lapsed unanswered; the case returns to choosing a strategy."""

    business_key = ("case_id", "valid_until")

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    valid_until: Timestamp = Field(description="The moment the offer lapsed.")


class LegalHoldPlaced(_Offboarding):
    """A legal hold stops the disposal of the customer's personal data while it holds."""

    business_key = ("case_id", "hold_id")

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    hold_id: EntityId = Field(description="Id of the hold within the case.")
    reason: ShortText = Field(description="Why the data must be kept (e.g. litigation).")
    placed_by: EmployeeId = Field(description="Manager who placed the hold.")
    until: Timestamp | None = Field(None, description="When the hold ends by itself, if known.")


class LegalHoldReleased(_Offboarding):
    """A legal hold was lifted; the disposal resumes when no other hold remains."""

    business_key = ("case_id", "hold_id")

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    hold_id: EntityId = Field(description="Id of the hold within the case.")
    released_by: EmployeeId = Field(description="Manager who released the hold.")


class PersonalDataExportRequested(_Offboarding):
    """A manager asked for the customer's data (portability): every service holding it
    answers with ``PersonalDataExported`` for this export."""

    business_key = ("export_id",)

    export_id: EntityId = Field(description="Id of the export.")
    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    services: list[ServiceName] = Field(
        min_length=1, max_length=20, description="Services expected to contribute a section."
    )
    requested_by: EmployeeId = Field(description="Manager who asked for the export.")


class PersonalDataExported(_Offboarding):
    """One service's section of an export: what it holds about the customer, as JSON."""

    business_key = ("export_id", "service")

    export_id: EntityId = Field(description="Id of the export.")
    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    service: ServiceName = Field(description="The contributing service.")
    section_version: ShortText = Field(
        description="Version of the section's shape, e.g. contacts.export.v1."
    )
    section: str = Field(
        min_length=2,
        max_length=500_000,
        description="The service's data about the customer: a JSON object, as text (bounded; "
        "may hold personal data, never logged).",
    )
    exported_at: Timestamp = Field(description="When the section was taken.")


class PersonalDataExportDelivered(_Offboarding):
    """Every expected section is in: the bundle is ready for download from the case."""

    business_key = ("export_id",)

    export_id: EntityId = Field(description="Id of the export.")
    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    services: list[ServiceName] = Field(min_length=1, description="Sections in the bundle.")
    delivered_at: Timestamp = Field(description="When the bundle was complete.")


class OffboardingCaseReassigned(_Offboarding):
    """An open case now belongs to another employee because its customer's account moved
    (the case's owner is the account's owner)."""

    # A case may move back and forth; each move is a fact of its own.
    business_key = ()

    case_id: EntityId = Field(description="Id of the offboarding case.")
    customer_id: CustomerId
    previous_owner_id: EmployeeId = Field(description="Owner before the move.")
    new_owner_id: EmployeeId = Field(description="Owner after the move.")
    reason: Literal["reassigned", "employee_departed"] = Field(
        description="Why the account moved (the AccountOwnerChanged reason)."
    )


OFFBOARDING_EVENTS: tuple[type[EventData], ...] = (
    OffboardingCaseOpened,
    RetentionOfferMade,
    NegotiationRoundHeld,
    ExitAgreed,
    CustomerRetained,
    RelationshipEnded,
    PersonalDataErased,
    OffboardingCaseClosed,
    PersonalDataErasureRequested,
    RetentionOfferExpired,
    LegalHoldPlaced,
    LegalHoldReleased,
    PersonalDataExportRequested,
    PersonalDataExported,
    PersonalDataExportDelivered,
    OffboardingCaseReassigned,
)
