"""Composition root of the loyalty service."""

from __future__ import annotations

from fastapi import FastAPI

from crm_events import EventData
from crm_events.loyalty import (
    HealthScoreChanged,
    LoyaltyAccountSettled,
    PointsAwarded,
    PointsRedeemed,
    PointsReversed,
    RiskDetected,
    TierChanged,
)
from crm_events.offboarding import PersonalDataErased, PersonalDataExported
from crm_loyalty import codec
from crm_loyalty.api import build_router
from crm_loyalty.customer_health_service import CustomerHealthService
from crm_loyalty.handlers import register_handlers
from crm_loyalty.privacy_service import PrivacyService
from crm_loyalty.service import LoyaltyService
from crm_loyalty.settings import LoyaltySettings
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.store import Backend

PUBLISHED: list[type[EventData]] = [
    PointsAwarded,
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
    points = LoyaltyService(accounts, runtime.clock, rules=rules, source=runtime.source)
    customer_health = CustomerHealthService(
        accounts, runtime.clock, rules=rules.health, source=runtime.source
    )
    privacy = PrivacyService(accounts, runtime.clock, source=runtime.source)
    register_handlers(runtime, points, customer_health, privacy)
    runtime.sweep_aggregates("inactivity", accounts, customer_health.on_due)
    runtime.publishes(PUBLISHED, outboxes=[runtime.db[codec.ACCOUNTS]])
    if store is None:
        runtime.on_startup(lambda: codec.ensure_indexes(runtime.db))
    app = runtime.build_app(
        title="CRM loyalty service", routers=[build_router(points, rules.health)]
    )
    app.state.points = points
    app.state.customer_health = customer_health
    return app
