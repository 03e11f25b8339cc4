"""Data disposal in contacts (issue 9): on offboarding's erasure request the customer's
personal data (name, e-mail, phone, date of birth, the free text of logged contacts) is
anonymised, the non-personal facts stay (classification, lifecycle, dates, owner, account
team, counts), and a ``PersonalDataErased`` attestation is published.

The customer record keeps a **tombstone** (``erased_at``): every later or replayed fact is
checked against it, so a redelivered profile update or contact cannot bring personal data
back. Two steps, because the timeline's contact entries live outside the aggregate:
1. ``tombstone`` (the consumed request) anonymises the record and sets the due date;
2. the sweeper — after the consumer's batch is stored — rewrites the customer's contact
   entries and ``attest`` publishes the attestation (once: its id derives from the request).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from crm_contacts.domain import Customer, TimelineEntry
from crm_contacts.rules import Rules, due_of
from crm_events import deterministic_event_id
from crm_events.offboarding import PersonalDataErased
from crm_runtime.errors import MissingPrerequisite
from crm_runtime.store import Decision

SERVICE = "contacts"
ERASED = "[erased]"
PERSONAL_FIELDS = ("display_name", "email", "phone", "date_of_birth")
ERASED_FIELDS = ["display_name", "email", "phone", "date_of_birth", "timeline.contact.summary"]


@dataclass(frozen=True)
class ErasureRequest:
    event_id: str
    customer_id: str
    case_id: str
    at: datetime


def tombstone(
    state: Customer | None, request: ErasureRequest, now: datetime, rules: Rules
) -> Decision[Customer]:
    if state is None:
        raise MissingPrerequisite(f"erasure requested for unknown customer {request.customer_id}")
    if state.erased_at is not None:
        return Decision()
    erased = replace(
        state,
        display_name=ERASED,
        email=None,
        phone=None,
        date_of_birth=None,
        erased_at=now,  # also the due date: the sweeper finishes right after this batch
        erasure_case_id=request.case_id,
        erasure_request_id=request.event_id,
    )
    return Decision(erased, due=due_of(erased, rules))


def attestation_id(state: Customer) -> str:
    return deterministic_event_id(state.erasure_request_id or "", "erased", SERVICE)


def attest(
    state: Customer | None, records: int, now: datetime, rules: Rules, *, source: str
) -> Decision[Customer]:
    """The timeline is rewritten: attest, and stop the timer."""
    if state is None or state.erased_at is None or state.erasure_attested_at is not None:
        return Decision()
    assert state.erasure_case_id is not None
    event = PersonalDataErased(
        case_id=state.erasure_case_id,
        customer_id=state.customer_id,
        service=SERVICE,
        method="anonymised",
        legal_hold=False,
        attested_at=now,
        erased_fields=ERASED_FIELDS,
        records=records + 1,  # the contact entries and the customer record
    ).to_event(source=source, event_id=attestation_id(state), time=now)
    attested = replace(state, erasure_attested_at=now)
    return Decision(attested, publish=[event], due=due_of(attested, rules))


def without_personal(state: Customer, changes: dict[str, Any]) -> dict[str, Any]:
    """A profile change for an erased customer keeps only its non-personal fields."""
    if state.erased_at is None:
        return changes
    return {k: v for k, v in changes.items() if k not in PERSONAL_FIELDS}


def redacted(state: Customer | None, entry: TimelineEntry) -> TimelineEntry:
    """A contact logged (or replayed) for an erased customer loses its free text."""
    if state is None or state.erased_at is None or "summary" not in entry.details:
        return entry
    return replace(entry, details={**entry.details, "summary": ERASED})
