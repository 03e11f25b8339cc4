"""Fixtures for loyalty's unit tests: the services over the in-memory aggregate store
(``tests.store_memory``) with a manual clock, and helpers that deliver facts as the
consumer would call the handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from crm_events import CloudEvent, EventData
from crm_events.contacts import ContactLogged, CustomerRegistered
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintResolved, SurveyAnswered
from crm_events.inbound import PurchaseRecorded, PurchaseReturned, ReferralRecorded
from crm_events.offboarding import ExitAgreed
from crm_loyalty import codec, programme_codec
from crm_loyalty.app import create_app
from crm_loyalty.budget import Budgets
from crm_loyalty.customer_health_service import CustomerHealthService
from crm_loyalty.domain import Account, LedgerEntry
from crm_loyalty.privacy_service import PrivacyService
from crm_loyalty.programme import RuleBooks
from crm_loyalty.rulebook import DEFAULT_CREATED_AT, RuleBook, RuleBookBody, default_book
from crm_loyalty.rules import Rules
from crm_loyalty.service import LoyaltyService, Redemption
from crm_loyalty.settings import LoyaltySettings
from crm_loyalty.weights import Weights, from_rules
from crm_runtime.clock import ManualClock
from crm_runtime.store import AggregateStore
from tests.store_memory import InMemoryBackend
from tests.unit.delivery import deliver

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SOURCE = "/crm/loyalty"
M = TypeVar("M", bound=EventData)


def golden(model: type[M], **changes: Any) -> M:
    """The committed golden example's payload with some fields changed."""
    return model.model_validate({**load_golden(model).data, "customer_id": "cus-1", **changes})


@dataclass
class Loyalty:
    """The use cases over the in-memory store and a manual clock (any ``Rules``)."""

    rules: Rules = field(default_factory=Rules)
    backend: InMemoryBackend = field(default_factory=InMemoryBackend)
    clock: ManualClock = field(default_factory=lambda: ManualClock(NOW))

    def __post_init__(self) -> None:
        self.accounts = AggregateStore(
            self.backend, codec.AccountCodec(), clock=self.clock, marker_lifetime=None
        )
        self.books = RuleBooks(
            AggregateStore(
                self.backend,
                programme_codec.RuleBookCodec(),
                clock=self.clock,
                marker_lifetime=None,
            ),
            self.clock,
            default=default_book(1),
            earning=self.rules.earning,
        )
        self.privacy = PrivacyService(self.accounts, self.clock, source=SOURCE)
        self.budgets = Budgets(
            AggregateStore(
                self.backend, programme_codec.BudgetCodec(), clock=self.clock, marker_lifetime=None
            ),
            self.accounts,
            self.rules.earning,
        )
        self.weights = Weights(
            AggregateStore(
                self.backend, programme_codec.WeightsCodec(), clock=self.clock, marker_lifetime=None
            ),
            self.clock,
            default=from_rules(self.rules.health, DEFAULT_CREATED_AT),
        )
        wiring = {
            "weights": self.weights,
            "rules": self.rules,
            "source": SOURCE,
            "books": self.books,
            "budgets": self.budgets,
        }
        self.points = LoyaltyService(self.accounts, self.clock, **wiring)
        self.health = CustomerHealthService(self.accounts, self.clock, **wiring)

    def event(self, data: EventData, event_id: str) -> CloudEvent:
        return data.to_event(source="/test", event_id=event_id, time=self.clock.now())

    @property
    def outbox(self) -> list[CloudEvent]:
        """Every event waiting in the accounts' outboxes, in the order they were stored."""
        entries = [
            entry
            for doc in self.backend.docs(codec.ACCOUNTS).values()
            for entry in (doc.get("outbox") or {}).values()
        ]
        entries.sort(key=lambda e: e["time"])  # stable: a document keeps its order
        return [CloudEvent.model_validate(json.loads(e["value"])) for e in entries]

    @property
    def entries(self) -> dict[str, LedgerEntry]:
        """The ledger, by entry id, in insertion order."""
        return {k: codec.entry_from(doc) for k, doc in self.backend.docs(codec.LEDGER).items()}

    def published(self, model: type[EventData]) -> list[dict[str, Any]]:
        return [e.data for e in self.outbox if e.type == model.event_type()]

    async def account(self, customer_id: str = "cus-1") -> Account:
        found = await self.accounts.get(customer_id)
        assert found is not None
        return found

    async def register(self, customer_id: str = "cus-1") -> None:
        data = golden(CustomerRegistered, customer_id=customer_id)
        await self.points.on_customer_registered(data, self.event(data, f"reg-{customer_id}"))

    async def purchase(self, amount: int, order: str = "ord-1", **changes: Any) -> bool:
        data = golden(PurchaseRecorded, amount_minor=amount, order_id=order, **changes)
        return await self.points.on_purchase_recorded(data, self.event(data, f"buy-{order}"))

    async def return_(self, amount: int, order: str = "ord-1", ret: str = "ret-1") -> bool:
        data = golden(PurchaseReturned, amount_minor=amount, order_id=order, return_id=ret)
        return await self.points.on_purchase_returned(data, self.event(data, f"return-{ret}"))

    async def exit(self, case_id: str = "obc-1") -> bool:
        data = golden(ExitAgreed, case_id=case_id)
        return await self.points.on_exit_agreed(data, self.event(data, f"exit-{case_id}"))

    async def put_rules(self, body: dict[str, Any], *, dry_run: bool = False) -> RuleBook:
        """Store a rule book as a manager would (``PUT /rules``)."""
        book = RuleBookBody.model_validate(body)
        return await self.books.put(book, by="manager:test", expected=None, dry_run=dry_run)

    async def contact(self, n: int = 1, **changes: Any) -> bool:
        data = golden(ContactLogged, occurred_at=self.clock.now().isoformat(), **changes)
        return await self.health.on_contact_logged(data, self.event(data, f"contact-{n}"))

    async def resolved(self, n: int = 1, **changes: Any) -> bool:
        data = golden(
            ComplaintResolved,
            complaint_id=f"cmp-{n}",
            resolved_at=self.clock.now().isoformat(),
            **changes,
        )
        return await self.health.on_complaint_resolved(data, self.event(data, f"resolved-{n}"))

    async def survey(self, n: int = 1, **scores: Any) -> bool:
        answered_at = self.clock.now().isoformat()
        data = golden(
            SurveyAnswered,
            **{
                "survey_id": f"srv-{n}",
                "csat": None,
                "nps": None,
                "answered_at": answered_at,
                **scores,
            },
        )
        return await self.health.on_survey_answered(data, self.event(data, f"survey-{n}"))

    async def referral(self, n: int = 1, **changes: Any) -> bool:
        data = golden(
            ReferralRecorded,
            **{
                "referral_id": f"ref-{n}",
                "recorded_at": self.clock.now().isoformat(),
                **changes,
            },
        )
        return await self.health.on_referral_recorded(data, self.event(data, f"referral-{n}"))

    async def sweep(self, customer_id: str = "cus-1") -> bool:
        """The account's timers at the clock's time (what the sweeper does)."""
        return await self.health.on_inactivity_due(customer_id, self.clock.now())

    async def redeem(self, points: int, key: str | None = "k-1", **extra: Any) -> Any:
        request = Redemption(points=points, reward=extra.get("reward", "voucher"))
        request_id = self.points.request_id("cus-1", key)
        return await self.points.redeem("cus-1", request, request_id)


@pytest.fixture
def loyalty() -> Loyalty:
    return Loyalty()


@dataclass
class LoyaltyApp:
    """The real wiring (``create_app``) over the in-memory store."""

    points: LoyaltyService
    health: CustomerHealthService
    backend: InMemoryBackend
    clock: ManualClock
    runtime: Any

    async def deliver(self, event: CloudEvent) -> str:
        """``applied``/``duplicate``/``parked``, or ``dlq:<kind>: <reason>``."""
        return await deliver(self.runtime, event)

    async def sweep(self) -> None:
        """One pass of the inactivity sweeper at the clock's time."""
        for sweeper in self.runtime.sweepers:
            if sweeper.name == "inactivity":
                await sweeper.sweep()


@pytest.fixture
def loyalty_app() -> LoyaltyApp:
    backend = InMemoryBackend()
    clock = ManualClock(NOW)
    app = create_app(LoyaltySettings(service_name="loyalty"), clock, store=backend)
    return LoyaltyApp(
        app.state.points, app.state.customer_health, backend, clock, app.state.runtime
    )
