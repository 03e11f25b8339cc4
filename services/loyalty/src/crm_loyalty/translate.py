"""Translators at the edge: consumed wire models become loyalty's own facts, once. A v2 of
a wire event changes only this module (and ``signals``, which turns the health side's
facts into signals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from crm_events import CloudEvent
from crm_events.contacts import ContactLogged, CustomerProfileUpdated, CustomerRegistered
from crm_events.feedback import ComplaintResolved, SurveyAnswered
from crm_events.inbound import PurchaseRecorded, PurchaseReturned, ReferralRecorded
from crm_events.offboarding import ExitAgreed, OffboardingCaseClosed, RelationshipEnded
from crm_loyalty import learning
from crm_loyalty.earning import Fact
from crm_runtime.errors import DomainError


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
    date_of_birth: date | None = None


@dataclass(frozen=True)
class Purchase(_Caused):
    customer_id: str
    order_id: str
    amount_minor: int
    currency: str
    purchased_at: datetime
    cause: CloudEvent
    items_count: int | None = None
    category: str | None = None
    channel: str | None = None


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


# What ``LoyaltyService._decide`` takes (``earning.Fact`` is the rule engine's view).
AccountFact = Registration | Purchase | Return | Exit


def registration(data: CustomerRegistered, event: CloudEvent) -> Registration:
    """The account opens when the registration event was published."""
    return Registration(
        customer_id=data.customer_id,
        registered_at=event.time,
        cause=event,
        date_of_birth=data.date_of_birth,
    )


@dataclass(frozen=True)
class Profile:
    """What loyalty uses of a profile change: the date of birth (for birthday awards)."""

    customer_id: str
    date_of_birth: date | None
    cause: CloudEvent

    @property
    def event_id(self) -> str:
        return self.cause.id


def profile(data: CustomerProfileUpdated, event: CloudEvent) -> Profile:
    return Profile(customer_id=data.customer_id, date_of_birth=data.date_of_birth, cause=event)


def purchase(data: PurchaseRecorded, event: CloudEvent) -> Purchase:
    return Purchase(
        customer_id=data.customer_id,
        order_id=data.order_id,
        amount_minor=data.amount_minor,
        currency=data.currency,
        purchased_at=data.purchased_at,
        cause=event,
        items_count=data.items_count,
        category=data.category,
        channel=data.channel,
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


# --- facts as the earning rules see them -------------------------------------------------
def contact_fact(data: ContactLogged, event: CloudEvent) -> Fact:
    return Fact(
        trigger="contact_logged",
        event_id=event.id,
        at=data.occurred_at,
        fields={"channel": data.channel.value, "direction": data.direction.value},
    )


def survey_fact(data: SurveyAnswered, event: CloudEvent) -> Fact:
    return Fact(
        trigger="survey_answered",
        event_id=event.id,
        at=data.answered_at,
        fields={"csat": data.csat, "nps": data.nps},
    )


def resolution_fact(data: ComplaintResolved, event: CloudEvent) -> Fact:
    severity = data.severity.value if data.severity is not None else None
    return Fact(
        trigger="complaint_resolved",
        event_id=event.id,
        at=data.resolved_at,
        fields={"severity": severity, "within_sla": data.within_sla},
    )


def referral_fact(data: ReferralRecorded, event: CloudEvent) -> Fact:
    """The referrer's fact; a customer cannot refer themselves (refused, never earns)."""
    if data.referred_customer_id == data.customer_id:
        raise DomainError(f"self-referral: referral {data.referral_id} names its referrer")
    return Fact(
        trigger="referral",
        event_id=event.id,
        at=data.recorded_at,
        fields={"channel": data.channel},
    )


def review(data: OffboardingCaseClosed) -> learning.Review:
    """The review a closed case carries (cases closed before issue 9 carry none)."""
    return learning.Review(
        case_id=data.case_id,
        outcome=data.outcome,
        preventable=data.preventable,
        late_signals=tuple(data.late_signals or ()),
        closed_at=data.closed_at,
    )
