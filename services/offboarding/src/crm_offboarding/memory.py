"""In-memory OffboardingRepository for unit tests of the service layer (no I/O).

It keeps the same guards as the Mongo adapter (unique keys, version and applied checks) so
the service's idempotency and crash-healing paths can be exercised in milliseconds.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from crm_events import CloudEvent
from crm_offboarding.domain import Case, OpenCaseMarker, Risk
from crm_offboarding.lifecycle import CaseState


class InMemoryOffboardingRepository:
    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.markers: dict[str, OpenCaseMarker] = {}
        self.applied: dict[str, set[str]] = {}
        self.outbox: list[CloudEvent] = []

    async def get_case(self, case_id: str) -> Case | None:
        return copy.deepcopy(self.cases.get(case_id))

    async def cases_of(self, customer_id: str) -> list[Case]:
        mine = [c for c in self.cases.values() if c.customer_id == customer_id]
        return copy.deepcopy(sorted(mine, key=lambda c: (c.opened_at, c.case_id), reverse=True))

    async def case_with_risk(self, customer_id: str, risk_id: str) -> str | None:
        for case in self.cases.values():
            if case.customer_id == customer_id and risk_id in case.risks:
                return case.case_id
        return None

    async def create_case(self, case: Case, outbox: Sequence[CloudEvent]) -> bool:
        if case.case_id in self.cases:
            return False
        self.cases[case.case_id] = copy.deepcopy(case)
        self.outbox.extend(outbox)
        return True

    async def add_risk(
        self, case_id: str, risk: Risk, states: Collection[CaseState], at: datetime
    ) -> bool:
        case = self.cases.get(case_id)
        if case is None or case.state not in states or risk.risk_id in case.risks:
            return False
        self.cases[case_id] = replace(
            case, risks={**case.risks, risk.risk_id: risk}, updated_at=at, version=case.version + 1
        )
        return True

    async def save(
        self, case: Case, expected_version: int, cause_id: str, outbox: Sequence[CloudEvent]
    ) -> bool:
        current = self.cases.get(case.case_id)
        applied = self.applied.setdefault(case.case_id, set())
        if current is None or current.version != expected_version or cause_id in applied:
            return False
        # Risks are only ever added by add_risk; a command never rewrites them.
        stored = replace(case, risks=current.risks, version=expected_version + 1)
        self.cases[case.case_id] = copy.deepcopy(stored)
        applied.add(cause_id)
        self.outbox.extend(outbox)
        return True

    async def was_applied(self, case_id: str, cause_id: str) -> bool:
        return cause_id in self.applied.get(case_id, set())

    async def get_marker(self, customer_id: str) -> OpenCaseMarker | None:
        return self.markers.get(customer_id)

    async def claim_marker(self, marker: OpenCaseMarker) -> bool:
        if marker.customer_id in self.markers:
            return False
        self.markers[marker.customer_id] = marker
        return True

    async def release_marker(self, customer_id: str, case_id: str) -> bool:
        marker = self.markers.get(customer_id)
        if marker is None or marker.case_id != case_id:
            return False
        del self.markers[customer_id]
        return True
