"""Composition root of the feedback service."""

from __future__ import annotations

from fastapi import FastAPI

from crm_feedback.settings import FeedbackSettings
from crm_runtime.app import ServiceRuntime
from crm_runtime.clock import Clock


def create_app(settings: FeedbackSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = ServiceRuntime(settings or FeedbackSettings(), clock=clock)
    return runtime.build_app(title="CRM feedback service", routers=[])
