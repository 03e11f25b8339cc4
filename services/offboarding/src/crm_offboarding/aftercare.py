"""What follows the signed exit (seed 000): the relationship ends at the effective date, the
follow-up service period runs, personal data is disposed of after the retention period
(unless a legal hold applies) with one attestation per service, and a lessons-learned
review closes the case. Pure data and rules; the case (``domain.Case``) holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class AftercareRules:
    """From the settings: how long personal data is kept after the end, how long the
    services get to attest, who must attest, who answers an export, and the default
    follow-up period."""

    retention: timedelta = timedelta(days=90)
    attestation_deadline: timedelta = timedelta(days=7)
    services: tuple[str, ...] = ("contacts", "feedback", "loyalty", "offboarding", "insights")
    # Insights holds names in derived summaries (so it erases and attests) but no data the
    # customer provided, so it adds no section to an export (decision 12.x).
    exporters: tuple[str, ...] = ("contacts", "feedback", "loyalty", "offboarding")
    follow_up: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class LegalHold:
    hold_id: str
    reason: str
    placed_by: str
    placed_at: datetime
    until: datetime | None = None  # released by itself then; None: until released
    released_at: datetime | None = None
    released_by: str | None = None

    def holds_at(self, now: datetime) -> bool:
        if self.released_at is not None:
            return False
        return self.until is None or now < self.until


@dataclass(frozen=True)
class Attestation:
    service: str
    method: str  # erased | anonymised
    legal_hold: bool
    attested_at: datetime
    event_id: str
    erased_fields: list[str] = field(default_factory=list)
    records: int | None = None


@dataclass(frozen=True)
class Disposal:
    """The erasure request of a case and the attestations it has received."""

    requested_at: datetime
    expected: list[str]  # the services that must attest
    event_id: str  # of the request: attestations name it through the case id
    attestations: dict[str, Attestation] = field(default_factory=dict)
    overdue_at: datetime | None = None  # the deadline passed with attestations missing
    completed_at: datetime | None = None

    @property
    def missing(self) -> list[str]:
        return [s for s in self.expected if s not in self.attestations]


@dataclass(frozen=True)
class FollowUpTask:
    number: int
    description: str
    done_by: str
    done_at: datetime


@dataclass(frozen=True)
class Review:
    """The lessons learned (经验): root causes among the four categories, whether the loss
    was preventable, which signals came too late and what to change."""

    root_causes: list[str]
    preventable: bool
    late_signals: list[str]
    changes: list[str]
    summary: str
    reviewed_by: str
    reviewed_at: datetime


def active_holds(holds: dict[str, LegalHold], now: datetime) -> list[LegalHold]:
    return [h for h in holds.values() if h.holds_at(now)]


def hold_expiries(holds: dict[str, LegalHold]) -> list[datetime]:
    """When holds with an end date stop holding (a due date: disposal resumes then)."""
    return [h.until for h in holds.values() if h.released_at is None and h.until is not None]


@dataclass(frozen=True)
class ExportSection:
    service: str
    section_version: str
    section: str  # JSON object as text, as the service sent it
    exported_at: datetime
    event_id: str


@dataclass(frozen=True)
class DataExport:
    """A portability request: one section per expected service, then the bundle."""

    export_id: str
    requested_by: str
    requested_at: datetime
    expected: list[str]
    sections: dict[str, ExportSection] = field(default_factory=dict)
    delivered_at: datetime | None = None

    @property
    def missing(self) -> list[str]:
        return [s for s in self.expected if s not in self.sections]
