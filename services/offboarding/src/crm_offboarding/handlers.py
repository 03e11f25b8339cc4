"""Consumed topics → service calls. Validation and DLQ routing happen in the runtime."""

from __future__ import annotations

from crm_events.loyalty import RiskDetected
from crm_offboarding.service import OffboardingService
from crm_runtime.app import ServiceRuntime


def register_handlers(runtime: ServiceRuntime, service: OffboardingService) -> None:
    runtime.on(RiskDetected, service.on_risk_detected)
