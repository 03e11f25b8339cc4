"""Composition root of the insights service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse

from crm_events.offboarding import PersonalDataErased
from crm_insights import codec
from crm_insights.api import build_router
from crm_insights.handlers import register_handlers
from crm_insights.service import InsightsService, ReadModels
from crm_insights.settings import InsightsSettings
from crm_insights.ui.routes import SignInRequired, build_ui
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock
from crm_runtime.scheduler import PeriodicSweep
from crm_runtime.store import Backend


def create_app(
    settings: InsightsSettings | None = None,
    clock: Clock | None = None,
    *,
    store: Backend | None = None,
    reads: ReadModels | None = None,
) -> FastAPI:
    """``store``/``reads``: where aggregates and read models live (default MongoDB; unit
    tests pass in-memory ones)."""
    settings = settings or InsightsSettings()
    runtime = ServiceRuntime(settings, clock=clock, backend=store)
    customers = runtime.aggregates(codec.CustomerCodec())
    subjects = runtime.aggregates(codec.SubjectCodec())
    read_models: ReadModels = reads or codec.MongoReadModels(runtime.db)
    service = InsightsService(customers, subjects, read_models)
    register_handlers(runtime, service)
    # The only event insights publishes: its attestation of a data disposal (issue 9).
    runtime.publishes([PersonalDataErased], outboxes=[runtime.db[codec.CustomerCodec.collection]])
    runtime.sweepers.append(_folding(runtime, service, settings))
    # A pending disposal is the customer's due date: strip the journey, then attest.
    runtime.sweep_aggregates(
        "erasure", customers, lambda state, now: service.on_due(state, now, runtime.source)
    )
    if store is None:
        runtime.on_startup(lambda: codec.ensure_indexes(runtime.db))
    app = runtime.build_app(title="CRM insights service", routers=[build_router(service)])
    app.include_router(build_ui(service, settings))
    app.add_exception_handler(SignInRequired, _to_sign_in)
    app.state.service = service
    return app


def _folding(runtime: ServiceRuntime, service: InsightsService, settings: Any) -> PeriodicSweep:
    """KPI contributions are folded into their buckets right behind the consumer."""

    async def fold() -> int:
        folded = total = await service.fold(settings.kpi_fold_batch)
        while folded == settings.kpi_fold_batch:
            folded = await service.fold(settings.kpi_fold_batch)
            total += folded
        return total

    return PeriodicSweep(
        "kpi-fold", fold, health=runtime.health, interval_s=settings.sweep_interval_s
    )


async def _to_sign_in(_: Request, exc: Exception) -> RedirectResponse:
    return RedirectResponse("/ui/login", status_code=303)
