"""Data disposal in feedback (issue 9): on offboarding's erasure request the free text of
the customer's complaints (description, resolution) and survey answers (comment) is
overwritten; severities, categories, channels, dates, SLA outcomes and scores stay for the
KPIs. A ``PersonalDataErased`` attestation follows once everything is rewritten.

Complaints and surveys are aggregates of their own (keyed by complaint / survey id), so the
customer's **tombstone** is a third aggregate, ``erased_customers`` (keyed by customer):
1. the consumed request writes the tombstone with a due date of now;
2. the sweeper (after the consumer's batch is stored) anonymises every complaint and
   survey of the customer — each under an event id derived from the request, so a rerun
   after a crash changes nothing twice — and then attests on the tombstone.
A complaint or answer arriving (or replayed) later is checked against the tombstone by
its handler and stored without its free text.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from crm_events import deterministic_event_id
from crm_events.offboarding import PersonalDataErased
from crm_feedback.answers import Survey, SurveyAnswer
from crm_feedback.domain import Complaint, ComplaintFiled
from crm_runtime.store import Decision

SERVICE = "feedback"
ERASED = "[erased]"
ERASED_FIELDS = ["complaint.description", "complaint.resolution", "survey.comment"]


@dataclass(frozen=True)
class ErasureRequest:
    event_id: str
    customer_id: str
    case_id: str


@dataclass(frozen=True)
class ErasedCustomer:
    """The tombstone: this customer's personal data is gone and must not come back."""

    customer_id: str
    case_id: str
    request_id: str
    erased_at: datetime
    attested_at: datetime | None = None
    records: int = 0
    version: int = 1

    @property
    def next_due_at(self) -> datetime | None:
        return self.erased_at if self.attested_at is None else None


def tombstone(
    state: ErasedCustomer | None, request: ErasureRequest, now: datetime
) -> Decision[ErasedCustomer]:
    if state is not None:
        return Decision()  # erased already (another case of the same customer: nothing left)
    erased = ErasedCustomer(request.customer_id, request.case_id, request.event_id, now)
    return Decision(erased, due=erased.next_due_at)


def step_id(state: ErasedCustomer, what: str, entity_id: str) -> str:
    return deterministic_event_id(state.request_id, SERVICE, what, entity_id)


def anonymise_complaint(complaint: Complaint | None) -> Decision[Complaint]:
    if complaint is None:
        return Decision()
    resolution = None if complaint.resolution is None else ERASED
    erased = replace(complaint, description=ERASED, resolution=resolution)
    return Decision(erased, due=erased.next_due_at)


def anonymise_survey(survey: Survey | None) -> Decision[Survey]:
    if survey is None or survey.comment is None:
        return Decision()
    return Decision(replace(survey, comment=None))


def attest(
    state: ErasedCustomer | None, records: int, now: datetime, *, source: str
) -> Decision[ErasedCustomer]:
    if state is None or state.attested_at is not None:
        return Decision()
    event = PersonalDataErased(
        case_id=state.case_id,
        customer_id=state.customer_id,
        service=SERVICE,
        method="anonymised",
        legal_hold=False,
        attested_at=now,
        erased_fields=ERASED_FIELDS,
        records=records,
    ).to_event(source=source, event_id=step_id(state, "attested", state.customer_id), time=now)
    attested = replace(state, attested_at=now, records=records)
    return Decision(attested, publish=[event], due=attested.next_due_at)


def filed_after_erasure(fact: ComplaintFiled, erased: ErasedCustomer | None) -> ComplaintFiled:
    return fact if erased is None else replace(fact, description=ERASED)


def answered_after_erasure(fact: SurveyAnswer, erased: ErasedCustomer | None) -> SurveyAnswer:
    return fact if erased is None else replace(fact, comment=None)


@dataclass(frozen=True)
class EndedRelationship:
    """Feedback's record of a relationship's end: which open complaints it closed."""

    customer_id: str
    case_id: str
    ended_at: datetime
    closed: list[str]
    version: int = 1


def relationship_ended(
    state: EndedRelationship | None,
    customer_id: str,
    case_id: str,
    closed: list[str],
    now: datetime,
) -> Decision[EndedRelationship]:
    if state is not None and state.case_id == case_id:
        return Decision()
    return Decision(EndedRelationship(customer_id, case_id, now, closed))
