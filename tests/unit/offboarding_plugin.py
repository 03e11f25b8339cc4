"""Fixtures for offboarding's unit tests: the real wiring (``create_app``) over the
in-memory aggregate store, a manual clock, the process's terms, and risks delivered either
to the service or as the consumer delivers them (behind the business-key guard)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crm_events import CloudEvent, decode
from crm_events.common import RiskCategory
from crm_events.loyalty import RiskDetected
from crm_offboarding import codec, translate
from crm_offboarding.aftercare import Review
from crm_offboarding.app import create_app
from crm_offboarding.domain import (
    Case,
    ExitAgreement,
    NegotiationRound,
    OpenCaseMarker,
    RetentionOffer,
    RetentionOutcome,
    TerminationPlan,
    case_id_for,
)
from crm_offboarding.service import OffboardingService
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.clock import ManualClock
from tests.store_memory import InMemoryBackend
from tests.unit.delivery import deliver

OFFBOARDING_NOW = NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OFFER = RetentionOffer(
    offer="Three months at half price",
    value_minor=15_000,
    currency="EUR",
    valid_until=NOW + timedelta(days=14),
    made_by="emp-mgr",
)
PLAN = TerminationPlan(
    compensation_minor=5_000, currency="EUR", reason="strategy change", decided_by="emp-mgr"
)
ROUND = NegotiationRound(channel="meeting", participants=["emp-mgr"], outcome="continue")
EXIT = ExitAgreement(
    effective_date=NOW + timedelta(days=30),
    compensation_minor=4_000,
    currency="EUR",
    terms="Orderly exit; open invoices settled.",
    agreed_by="emp-mgr",
)

RETAINED = RetentionOutcome(offer_accepted=True, retained_by="emp-mgr")
REVIEW = Review(
    root_causes=["customer_performance"],
    preventable=True,
    late_signals=["crm.inbound.payment-overdue.v1"],
    changes=["call after the first payment reminder"],
    summary="Overdue payments were visible weeks before the score fell.",
    reviewed_by="emp-mgr",
    reviewed_at=NOW,
)


def risk(
    event_id: str = "evt-risk-1", risk_id: str = "risk-1", customer_id: str = "cus-1"
) -> tuple[RiskDetected, CloudEvent]:
    data = RiskDetected(
        customer_id=customer_id,
        risk_id=risk_id,
        category=RiskCategory.CUSTOMER_PERFORMANCE,
        reasons=["payment 20 days overdue"],
        score=31,
        hard_signal="crm.inbound.payment-overdue.v1",
    )
    return data, data.to_event(
        source="/crm/loyalty", event_id=event_id, time=NOW, correlation_id="journey-1"
    )


def types(events: Sequence[CloudEvent]) -> list[str]:
    return [e.type.split(".")[2] for e in events]


@dataclass
class Offboarding:
    service: OffboardingService
    backend: InMemoryBackend
    clock: ManualClock
    runtime: Any

    async def take(self, data: RiskDetected, event: CloudEvent) -> bool:
        """The risk handed to the service (no business-key guard in front)."""
        return await self.service.risk_noticed(translate.risk_noticed(data, event))

    async def deliver(self, event: CloudEvent) -> str:
        """``applied``/``duplicate``/``parked``, or ``dlq:<kind>: <reason>``."""
        return await deliver(self.runtime, event)

    def outbox(self) -> list[CloudEvent]:
        """Every event waiting in a case's outbox, in the order each case stored them."""
        entries = [
            entry
            for doc in self.backend.docs(codec.CASES).values()
            for entry in (doc.get("outbox") or {}).values()
        ]
        entries.sort(key=lambda e: e["time"])  # stable: a case's own order is kept
        return [decode(e["value"].encode()) for e in entries]

    def stored_cases(self) -> list[Case]:
        return [codec.CaseCodec().decode(d) for d in self.backend.docs(codec.CASES).values()]

    def marker(self, customer_id: str = "cus-1") -> OpenCaseMarker | None:
        doc = self.backend.docs(codec.OPEN_CASES).get(customer_id)
        return None if doc is None else codec.MarkerCodec().decode(doc)

    def open_case_id(self, customer_id: str = "cus-1") -> str | None:
        """The case the customer's marker holds open, if any."""
        marker = self.marker(customer_id)
        return None if marker is None else marker.case_id

    async def open_case(self, **kwargs: str) -> Case:
        data, event = risk(**kwargs)
        await self.take(data, event)
        return await self.service.case(case_id_for(event.id))

    async def sweep(self, to: datetime | None = None) -> None:
        """Move the clock (if given) and run one pass of the case timers."""
        if to is not None:
            self.clock.set(to)
        for sweeper in self.runtime.sweepers:
            if sweeper.name == "case-due":
                await sweeper.sweep()

    def published(self, kind: str) -> list[CloudEvent]:
        return [e for e in self.outbox() if types([e]) == [kind]]

    async def exited(self) -> Case:
        """A case whose exit agreement is signed (effective in 30 days, no follow-up date)."""
        case = await self.in_negotiation(retain=False)
        return await self.service.conclude_exit(case.case_id, EXIT, "cmd-exit")

    async def in_negotiation(self, *, retain: bool = True) -> Case:
        case = await self.open_case()
        if retain:
            await self.service.choose_retention(case.case_id, OFFER, "cmd-strategy")
        else:
            await self.service.choose_termination(case.case_id, PLAN, "cmd-strategy")
        return await self.service.record_round(case.case_id, ROUND, "cmd-round-1")


@pytest.fixture
def offboarding_backend() -> InMemoryBackend:
    """Override in a test module to run the service over a backend that misbehaves."""
    return InMemoryBackend()


@pytest.fixture
def offb(offboarding_backend: InMemoryBackend) -> Offboarding:
    clock = ManualClock(NOW)
    app = create_app(OffboardingSettings(), clock, store=offboarding_backend)
    return Offboarding(app.state.service, offboarding_backend, clock, app.state.runtime)
