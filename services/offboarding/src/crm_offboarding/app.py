"""Composition root of the offboarding service."""

from __future__ import annotations

from fastapi import FastAPI

from crm_events import EventData
from crm_events.contacts import ContactLogged
from crm_events.offboarding import (
    CustomerRetained,
    ExitAgreed,
    LegalHoldPlaced,
    LegalHoldReleased,
    NegotiationRoundHeld,
    OffboardingCaseClosed,
    OffboardingCaseOpened,
    OffboardingCaseReassigned,
    PersonalDataErased,
    PersonalDataErasureRequested,
    PersonalDataExportDelivered,
    PersonalDataExportRequested,
    RelationshipEnded,
    RetentionOfferExpired,
    RetentionOfferMade,
)
from crm_offboarding import codec, ownership
from crm_offboarding.api import build_router
from crm_offboarding.handlers import register_handlers
from crm_offboarding.service import OffboardingService
from crm_offboarding.settings import OffboardingSettings
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.store import Backend

PUBLISHED: list[type[EventData]] = [
    ContactLogged,  # a held communication, for the customer's timeline in contacts
    OffboardingCaseOpened,
    RetentionOfferMade,
    NegotiationRoundHeld,
    ExitAgreed,
    CustomerRetained,
    RetentionOfferExpired,
    RelationshipEnded,
    PersonalDataErasureRequested,
    PersonalDataErased,
    LegalHoldPlaced,
    LegalHoldReleased,
    OffboardingCaseClosed,
    PersonalDataExportRequested,
    PersonalDataExportDelivered,
    OffboardingCaseReassigned,
]


def create_app(
    settings: OffboardingSettings | None = None,
    clock: Clock | None = None,
    *,
    store: Backend | None = None,
) -> FastAPI:
    """``store``: where aggregates live (default MongoDB; the unit tests pass in-memory)."""
    settings = settings or OffboardingSettings()
    runtime = ServiceRuntime(settings, clock=clock, backend=store)
    cases = runtime.aggregates(codec.CaseCodec())
    markers = runtime.aggregates(codec.MarkerCodec())
    rules = settings.aftercare_rules()
    service = OffboardingService(cases, markers, runtime.clock, source=runtime.source, rules=rules)
    register_handlers(runtime, service)
    accounts = runtime.aggregates(ownership.AccountCodec())
    owners = ownership.CaseOwnership(accounts, cases, runtime)
    owner_routes = ownership.wire(runtime, owners, rules)
    outboxes = [runtime.db[codec.CASES], runtime.db[ownership.ACCOUNTS]]
    runtime.publishes(PUBLISHED, outboxes=outboxes)
    if store is None:
        runtime.on_startup(lambda: codec.ensure_indexes(runtime.db))
    app = runtime.build_app(
        title="CRM offboarding service", routers=[build_router(service), owner_routes]
    )
    app.state.service = service
    app.state.ownership = owners
    return app
