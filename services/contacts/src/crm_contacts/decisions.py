"""Contacts' rules as pure decisions: (customer, fact, now) → new state, events to publish,
due date, timeline entries. No I/O; the aggregate store applies them exactly once.

A due date implied by a state is decided here with the state: an exit sets the timer for
its effective date, a retention or the end of the relationship clears it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from crm_contacts import domain, erasure
from crm_contacts.domain import (
    ACTIVE,
    EXITING,
    FORMER,
    Customer,
    ExitAgreement,
    ProfileChange,
    Registration,
    RelationshipEnd,
    Retention,
    Touchpoint,
)
from crm_events import CloudEvent, deterministic_event_id
from crm_events.common import CustomerClass
from crm_events.contacts import CustomerClassified
from crm_runtime.errors import Conflict, MissingPrerequisite
from crm_runtime.store import Decision

Outcome = Decision[Customer]


def register(state: Customer | None, fact: Registration, announce: Sequence[CloudEvent]) -> Outcome:
    entry = domain.registration_entry(fact.event_id, Customer.register(fact))
    if state is None:
        return Decision(Customer.register(fact), publish=announce, entries=[entry])
    if state.registered_by == fact.event_id:
        return Decision(entries=[entry])  # a redelivery; the entry heals a lost one
    raise Conflict(f"customer {fact.customer_id} is already registered")


def update_profile(
    state: Customer | None, fact: ProfileChange, announce: Sequence[CloudEvent]
) -> Outcome:
    known = _known(state, fact.customer_id, "profile update")
    changed = replace(known, **erasure.without_personal(known, fact.changes))
    return Decision(
        changed, publish=announce, due=_due(changed), entries=[domain.profile_entry(fact)]
    )


def log_contact(
    state: Customer | None, fact: Touchpoint, announce: Sequence[CloudEvent]
) -> Outcome:
    _known(state, fact.customer_id, "contact logged")
    # Publishing (an HTTP command) needs the customer's outbox, so it touches the customer.
    return Decision(
        state if announce else None,
        publish=announce,
        due=_due(state),
        entries=[erasure.redacted(state, domain.contact_entry(fact))],
    )


def exit_agreed(state: Customer | None, fact: ExitAgreement) -> Outcome:
    known = _known(state, fact.customer_id, "exit agreed")
    if known.lifecycle == FORMER:
        return Decision()  # the relationship ended already (e.g. RelationshipEnded came first)
    exiting = replace(
        known, lifecycle=EXITING, exit_case_id=fact.case_id, exit_effective_at=fact.effective_date
    )
    entry = domain.case_entry(fact.case_id, fact.customer_id, "exit-agreed", fact.at)
    details = {"case_id": fact.case_id, "effective_date": fact.effective_date.isoformat()}
    return Decision(exiting, due=_due(exiting), entries=[replace(entry, details=details)])


def retained(state: Customer | None, fact: Retention) -> Outcome:
    """Undoes an exit this customer is in for the same case; otherwise changes nothing."""
    known = _known(state, fact.customer_id, "retained")
    if known.lifecycle != EXITING or known.exit_case_id != fact.case_id:
        return Decision()
    active = replace(known, lifecycle=ACTIVE, exit_case_id=None, exit_effective_at=None)
    entry = domain.case_entry(fact.case_id, fact.customer_id, "retained", fact.at)
    details = {"case_id": fact.case_id, "offer_accepted": fact.offer_accepted}
    return Decision(active, due=_due(active), entries=[replace(entry, details=details)])


def relationship_ended(state: Customer | None, fact: RelationshipEnd, *, source: str) -> Outcome:
    """Offboarding says the relationship ended: a former customer now, if not already (the
    exit timer and this event decide the same thing under the same event id)."""
    known = _known(state, fact.customer_id, "relationship ended")
    if known.lifecycle == FORMER:
        return Decision()
    ending = replace(known, lifecycle=EXITING, exit_case_id=fact.case_id)
    return exit_effective(ending, fact.ended_at, source=source)


def exit_effective(state: Customer | None, now: datetime, *, source: str) -> Outcome:
    """Timer: the agreed exit date has come — the customer becomes a former customer."""
    if state is None or state.lifecycle != EXITING:
        return Decision()
    cause = former_cause(state)
    classified = CustomerClassified(
        customer_id=state.customer_id,
        classification=CustomerClass.CHURNED,
        previous=CustomerClass(state.classification),
        reason="relationship ended: exit effective",
    ).to_event(source=source, event_id=cause, time=now)
    former = replace(state, lifecycle=FORMER, classification=CustomerClass.CHURNED.value)
    entry = domain.lifecycle_entry(
        cause, state.customer_id, "relationship-ended", now, {"case_id": state.exit_case_id}
    )
    return Decision(former, publish=[classified], due=_due(former), entries=[entry])


def former_cause(state: Customer) -> str:
    return deterministic_event_id(state.customer_id, "former", state.exit_case_id or "")


def _known(state: Customer | None, customer_id: str, what: str) -> Customer:
    if state is None:
        raise MissingPrerequisite(f"{what} for unknown customer {customer_id}")
    return state


def _due(state: Customer | None) -> datetime | None:
    """The timer a state implies (``Customer.next_due_at``)."""
    return None if state is None else state.next_due_at
