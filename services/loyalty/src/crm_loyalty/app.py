"""Composition root of the loyalty service."""

from __future__ import annotations

from fastapi import FastAPI

from crm_events import EventData
from crm_events.loyalty import (
    HealthScoreChanged,
    LoyaltyAccountSettled,
    PointsAwarded,
    PointsExpired,
    PointsExpiring,
    PointsRedeemed,
    PointsReversed,
    RiskDetected,
    TierChanged,
)
from crm_events.offboarding import PersonalDataErased, PersonalDataExported
from crm_loyalty import codec, programme_codec
from crm_loyalty.api import build_router
from crm_loyalty.budget import Budgets
from crm_loyalty.customer_health_service import CustomerHealthService
from crm_loyalty.handlers import register_handlers
from crm_loyalty.health_api import build_health_router
from crm_loyalty.privacy_service import PrivacyService
from crm_loyalty.programme import RuleBooks
from crm_loyalty.rulebook import DEFAULT_CREATED_AT, default_book
from crm_loyalty.rules_api import build_rules_router
from crm_loyalty.service import LoyaltyService
from crm_loyalty.settings import LoyaltySettings
from crm_loyalty.weights import Weights, from_rules
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.store import Backend

PUBLISHED: list[type[EventData]] = [
    PointsAwarded,
    PointsExpired,
    PointsExpiring,
    PointsRedeemed,
    PointsReversed,
    TierChanged,
    HealthScoreChanged,
    RiskDetected,
    LoyaltyAccountSettled,
    PersonalDataErased,
    PersonalDataExported,
]


def create_app(
    settings: LoyaltySettings | None = None,
    clock: Clock | None = None,
    *,
    store: Backend | None = None,
) -> FastAPI:
    """``store``: where aggregates live (default MongoDB; the unit tests pass in-memory)."""
    settings = settings or LoyaltySettings()
    runtime = ServiceRuntime(settings, clock=clock, backend=store)
    rules = settings.rules()
    accounts = runtime.aggregates(codec.AccountCodec())
    books = RuleBooks(
        runtime.aggregates(programme_codec.RuleBookCodec()),
        runtime.clock,
        default=default_book(settings.points_per_currency_unit),
        earning=rules.earning,
        refresh_s=settings.rules_refresh_s,
    )
    budgets = Budgets(runtime.aggregates(programme_codec.BudgetCodec()), accounts, rules.earning)
    weights = Weights(
        runtime.aggregates(programme_codec.WeightsCodec()),
        runtime.clock,
        default=from_rules(rules.health, DEFAULT_CREATED_AT),
        refresh_s=settings.rules_refresh_s,
    )
    source = runtime.source
    points = LoyaltyService(
        accounts,
        runtime.clock,
        rules=rules,
        source=source,
        books=books,
        budgets=budgets,
        weights=weights,
    )
    customer_health = CustomerHealthService(
        accounts,
        runtime.clock,
        rules=rules,
        source=source,
        books=books,
        budgets=budgets,
        weights=weights,
        learning_rules=settings.learning_rules(),
    )
    privacy = PrivacyService(accounts, runtime.clock, source=source)
    register_handlers(runtime, points, customer_health, privacy)
    # One sweeper over the accounts' one due date: inactivity, expiry warnings, expiries.
    runtime.sweep_aggregates("inactivity", accounts, customer_health.on_due)
    runtime.publishes(PUBLISHED, outboxes=[runtime.db[codec.ACCOUNTS]])
    if store is None:
        runtime.on_startup(lambda: codec.ensure_indexes(runtime.db))
    runtime.on_startup(lambda: books.seed(settings.rules_file))
    app = runtime.build_app(
        title="CRM loyalty service",
        routers=[
            build_router(points, rules.health),
            build_rules_router(books),
            build_health_router(points, weights),
        ],
    )
    app.state.points = points
    app.state.customer_health = customer_health
    return app
