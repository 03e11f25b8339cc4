"""What insights knows: every consumed event as an ``Observed`` fact, the journey entry it
leaves, and per customer the few facts the KPIs need to count each change exactly once.

Insights reads every topic of the catalogue, including types added after this code was
written: nothing here needs a model class, only the type's name and its payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Payload fields that carry personal data or free text; data disposal removes them from
# the journey (ids, amounts, dates, counts and categories stay for the KPIs).
PERSONAL_FIELDS = (
    "display_name",
    "email",
    "phone",
    "date_of_birth",  # contacts publishes it since issue 11's gap was closed
    "address",
    "description",
    "text",
    "comment",
    "resolution",
    "summary",
    "terms",
    "notes",
    "offer",
    "lessons_learned",
    "reasons",
    "response",
    "section",  # never stored since it was noticed (``translate.NOT_KEPT``); older entries
)


@dataclass(frozen=True)
class Observed:
    """One consumed event as insights sees it, whatever its type."""

    event_id: str
    event_type: str  # the type's name, e.g. "ComplaintRaised"
    topic: str
    service: str  # the lane: contacts, feedback, loyalty, offboarding, inbound, ...
    subject: str
    customer_id: str | None
    at: datetime
    correlation_id: str
    causation_id: str | None
    data: dict[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)


@dataclass(frozen=True)
class JourneyEntry:
    """One event on a customer's journey (or, for facts about an employee, on none)."""

    entry_id: str  # the event id
    customer_id: str | None
    subject: str
    service: str
    event_type: str
    at: datetime
    correlation_id: str
    causation_id: str | None
    data: dict[str, Any]
    erased: bool = False


@dataclass(frozen=True)
class KpiDelta:
    """What one event adds to the KPI buckets: ``{bucket id: {metric: amount}}``."""

    delta_id: str  # the event id
    increments: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Complaint:
    raised_at: datetime | None = None
    first_response_due_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    first_response_counted: bool = False
    resolution_counted: bool = False
    resolution_due_at: datetime | None = None
    severity: str | None = None
    owner_id: str | None = None
    warned: bool = False
    breached: bool = False

    @property
    def needs_attention(self) -> bool:
        """Open, and feedback warned that a deadline is near (or it passed)."""
        return (
            self.resolved_at is None
            and self.raised_at is not None
            and (self.warned or self.breached)
        )


@dataclass(frozen=True)
class Case:
    """An open offboarding case as the work queue shows it: its stage and next action."""

    stage: str
    next_action: str
    since: datetime
    due_at: datetime | None = None


@dataclass(frozen=True)
class FollowUp:
    """A follow-up contacts scheduled, as the work queue shows it: open until contacts says
    it was done (``FollowUpCompleted``); ``done`` ones stay a while as tombstones so a
    scheduling or overdue fact arriving after the completion cannot reopen it."""

    owner_id: str
    due_at: datetime
    owner_at: datetime  # when the owner was last set (a late, older owner does not win)
    overdue: bool = False
    done: bool = False


@dataclass(frozen=True)
class CustomerFacts:
    """The customer aggregate of insights: what each KPI needs to count a change once.

    ``levels`` of the state before and after an event give the gauge changes (active
    customers, class, tier, points outstanding), so reordering and replays cannot count
    a customer twice.
    """

    customer_id: str
    name: str | None = None  # personal data: search and summaries; erased on disposal
    registered_at: datetime | None = None
    customer_class: str | None = None
    lost: bool = False
    first_purchase_at: datetime | None = None
    converted: bool = False
    tier: str | None = None
    balance: int = 0
    balance_at: datetime | None = None
    complaints: dict[str, Complaint] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    follow_ups: dict[str, FollowUp] = field(default_factory=dict)
    # The account's owner by the latest AccountOwnerChanged: a follow-up fact older than it
    # arriving later still belongs to the new owner (contacts moved it silently).
    account_owner: str | None = None
    account_owner_at: datetime | None = None
    ended: bool = False  # offboarding ended the relationship: no follow-up is worked any more
    events: int = 0
    last_event_at: datetime | None = None
    erased: bool = False
    # A data disposal asked for and not yet attested (the request's event id, case,
    # correlation, when): the customer's due date until the sweeper has stripped the
    # journey — after the poll that staged the last unstripped entries — and attested.
    erasure_request: str | None = None
    erasure_case: str | None = None
    erasure_correlation: str | None = None
    erasure_requested_at: datetime | None = None
    version: int = 0

    @property
    def registered(self) -> bool:
        return self.registered_at is not None


@dataclass(frozen=True)
class SubjectFacts:
    """The aggregate of a subject that is not a customer (an employee): events counted."""

    subject_id: str
    events: int = 0
    version: int = 0
