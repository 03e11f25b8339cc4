"""In-memory repositories for unit tests of the service layer (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from crm_events import CloudEvent
from crm_feedback.domain import Complaint, Survey
from crm_runtime.errors import Conflict


class InMemoryComplaintRepository:
    def __init__(self) -> None:
        self.complaints: dict[str, Complaint] = {}
        self.applied: dict[str, set[str]] = {}
        self.outbox: list[CloudEvent] = []

    async def add(self, complaint: Complaint, outbox: Sequence[CloudEvent]) -> bool:
        existing = self.complaints.get(complaint.complaint_id)
        if existing is not None:
            if existing.raised_event_id == complaint.raised_event_id:
                return False
            raise Conflict(f"complaint {complaint.complaint_id} already exists")
        self.complaints[complaint.complaint_id] = replace(complaint, version=1)
        self.outbox.extend(outbox)
        return True

    async def get(self, complaint_id: str) -> Complaint | None:
        return self.complaints.get(complaint_id)

    async def save(
        self,
        complaint: Complaint,
        *,
        expected_version: int,
        cause_id: str | None,
        at: datetime,
        outbox: Sequence[CloudEvent],
    ) -> bool:
        stored = self.complaints.get(complaint.complaint_id)
        applied = self.applied.setdefault(complaint.complaint_id, set())
        if stored is None or stored.version != expected_version or cause_id in applied:
            return False
        self.complaints[complaint.complaint_id] = replace(complaint, version=stored.version + 1)
        if cause_id is not None:
            applied.add(cause_id)
        self.outbox.extend(outbox)
        return True

    async def was_applied(self, complaint_id: str, event_id: str) -> bool:
        return event_id in self.applied.get(complaint_id, set())

    async def find(
        self,
        *,
        customer_id: str | None = None,
        owner_id: str | None = None,
        status: str | None,
        limit: int,
    ) -> list[Complaint]:
        found = [
            c
            for c in self.complaints.values()
            if customer_id in (None, c.customer_id)
            and owner_id in (None, c.owner_id)
            and status in (None, c.status)
        ]
        found.sort(key=lambda c: (c.raised_at, c.complaint_id), reverse=True)
        return found[:limit]


class InMemorySurveyRepository:
    def __init__(self) -> None:
        self.surveys: dict[str, Survey] = {}
        self.outbox: list[CloudEvent] = []

    async def add(self, survey: Survey, outbox: Sequence[CloudEvent]) -> bool:
        existing = self.surveys.get(survey.survey_id)
        if existing is not None:
            if existing.answered_event_id == survey.answered_event_id:
                return False
            raise Conflict(f"survey {survey.survey_id} was already answered")
        self.surveys[survey.survey_id] = survey
        self.outbox.extend(outbox)
        return True

    async def get(self, survey_id: str) -> Survey | None:
        return self.surveys.get(survey_id)

    async def by_customer(self, customer_id: str, *, limit: int) -> list[Survey]:
        found = [s for s in self.surveys.values() if s.customer_id == customer_id]
        found.sort(key=lambda s: (s.answered_at, s.survey_id), reverse=True)
        return found[:limit]
