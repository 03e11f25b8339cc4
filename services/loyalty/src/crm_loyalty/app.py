"""Composition root of the loyalty service."""

from __future__ import annotations

from fastapi import FastAPI

from crm_loyalty.settings import LoyaltySettings
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock


def create_app(settings: LoyaltySettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or LoyaltySettings(), clock=clock)
    return runtime.build_app(title="CRM loyalty service", routers=[])
