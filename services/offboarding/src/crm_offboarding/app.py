"""Composition root of the offboarding service."""

from __future__ import annotations

from fastapi import FastAPI

from crm_offboarding.settings import OffboardingSettings
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock


def create_app(settings: OffboardingSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or OffboardingSettings(), clock=clock)
    return runtime.build_app(title="CRM offboarding service", routers=[])
