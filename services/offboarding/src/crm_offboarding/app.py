"""Composition root of the offboarding service."""

from __future__ import annotations

from fastapi import FastAPI

from crm_events import EventData
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    NegotiationRoundHeld,
    OffboardingCaseOpened,
    RetentionOfferMade,
)
from crm_offboarding.api import build_router
from crm_offboarding.handlers import register_handlers
from crm_offboarding.mongo_repository import MongoOffboardingRepository
from crm_offboarding.service import OffboardingService
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock

PUBLISHED: list[type[EventData]] = [
    OffboardingCaseOpened,
    RetentionOfferMade,
    NegotiationRoundHeld,
    ExitAgreed,
    CustomerRetained,
]


def create_app(settings: OffboardingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or OffboardingSettings(), clock=clock)
    repository = MongoOffboardingRepository(runtime.db)
    service = OffboardingService(
        repository, runtime.clock, source=runtime.source, on_outbox=runtime.notify_outbox
    )
    register_handlers(runtime, service)
    runtime.publishes(PUBLISHED, outboxes=[repository.cases])
    runtime.on_startup(repository.ensure_indexes)
    return runtime.build_app(title="CRM offboarding service", routers=[build_router(service)])
