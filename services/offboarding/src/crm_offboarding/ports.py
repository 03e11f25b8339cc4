"""What the service layer needs from storage; Mongo and in-memory adapters implement it.

Two collections, no multi-document transactions: ``cases`` (one document per case, with its
outbox) and ``open_cases`` (one marker per customer naming the open case). Every write is a
single-document atomic operation guarded so that a repeat changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from crm_events import CloudEvent
from crm_offboarding.domain import Case, OpenCaseMarker, Risk
from crm_offboarding.lifecycle import CaseState


class OffboardingRepository(Protocol):
    async def get_case(self, case_id: str) -> Case | None: ...

    async def cases_of(self, customer_id: str) -> list[Case]:
        """The customer's cases, newest first."""
        ...

    async def case_with_risk(self, customer_id: str, risk_id: str) -> str | None:
        """Id of the customer's case that holds ``risk_id`` already, if any."""
        ...

    async def create_case(self, case: Case, outbox: Sequence[CloudEvent]) -> bool:
        """Insert keyed by ``case.case_id``; False when it exists already."""
        ...

    async def add_risk(
        self, case_id: str, risk: Risk, states: Collection[CaseState], at: datetime
    ) -> bool:
        """Add ``risk`` if the case is in one of ``states`` and lacks it; else False."""
        ...

    async def save(
        self, case: Case, expected_version: int, cause_id: str, outbox: Sequence[CloudEvent]
    ) -> bool:
        """Store a command's result once per ``cause_id`` if nobody changed the case since
        ``expected_version``; False otherwise (already applied, or stale: re-read)."""
        ...

    async def was_applied(self, case_id: str, cause_id: str) -> bool: ...

    async def get_marker(self, customer_id: str) -> OpenCaseMarker | None: ...

    async def claim_marker(self, marker: OpenCaseMarker) -> bool:
        """Insert keyed by the customer id; False when the customer holds one already."""
        ...

    async def release_marker(self, customer_id: str, case_id: str) -> bool:
        """Remove the customer's marker only if it still names ``case_id``."""
        ...
