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
from crm_loyalty.api import build_router
from crm_loyalty.handlers import inactivity_sweep, register_handlers
from crm_loyalty.health_service import HealthService
from crm_loyalty.mongo_repository import MongoLoyaltyRepository
from crm_loyalty.service import LoyaltyService
from crm_loyalty.settings import LoyaltySettings
from crm_loyalty.writer import AccountWriter
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock

PUBLISHED: list[type[EventData]] = [
    PointsAwarded,
    PointsRedeemed,
    PointsReversed,
    TierChanged,
    HealthScoreChanged,
    RiskDetected,
    LoyaltyAccountSettled,
]


def create_app(settings: LoyaltySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or LoyaltySettings()
    runtime = ServiceRuntime(settings, clock=clock)
    rules = settings.rules()
    repository = MongoLoyaltyRepository(runtime.db)
    writer = AccountWriter(
        repository,
        runtime.clock,
        source=runtime.source,
        applied_retention=rules.applied_retention,
        on_outbox=runtime.notify_outbox,
    )
    points = LoyaltyService(repository, writer, runtime.clock, rules=rules, source=runtime.source)
    health = HealthService(repository, writer, runtime.clock, rules=rules.health)
    register_handlers(runtime, points, health)
    runtime.publishes(PUBLISHED, outboxes=[repository.accounts])
    runtime.sweep("inactivity", repository.accounts, inactivity_sweep(health))
    runtime.on_startup(repository.ensure_indexes)
    return runtime.build_app(
        title="CRM loyalty service", routers=[build_router(points, rules.health)]
    )
