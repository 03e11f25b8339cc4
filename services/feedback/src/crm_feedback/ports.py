"""What the service layer needs from storage; Mongo and in-memory adapters implement it.

Every write names the event that caused it (idempotency) and may carry derived events,
stored in the same document write (the outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from crm_events import CloudEvent
from crm_feedback.domain import Complaint, Survey


class ComplaintRepository(Protocol):
    async def add(self, complaint: Complaint, outbox: Sequence[CloudEvent]) -> bool:
        """Insert; False if the same raise event stored it already; Conflict if another did."""
        ...

    async def get(self, complaint_id: str) -> Complaint | None: ...

    async def save(
        self,
        complaint: Complaint,
        *,
        expected_version: int,
        cause_id: str | None,
        at: datetime,
        outbox: Sequence[CloudEvent],
    ) -> bool:
        """Store the new state if the stored one is still ``expected_version`` and
        ``cause_id`` (if given) has not been applied; the version goes up by one.
        False when the guard did not match (stale read or already applied)."""
        ...

    async def was_applied(self, complaint_id: str, event_id: str) -> bool: ...

    async def find(
        self,
        *,
        customer_id: str | None = None,
        owner_id: str | None = None,
        status: str | None,
        limit: int,
    ) -> list[Complaint]:
        """Newest first (by raised_at); ``status`` None means any."""
        ...


class SurveyRepository(Protocol):
    async def add(self, survey: Survey, outbox: Sequence[CloudEvent]) -> bool:
        """Insert; False if the same event stored it already; Conflict if another did."""
        ...

    async def get(self, survey_id: str) -> Survey | None: ...

    async def by_customer(self, customer_id: str, *, limit: int) -> list[Survey]:
        """Newest first (by answered_at)."""
        ...
