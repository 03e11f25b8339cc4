"""Offboarding settings: every variable is prefixed CRM_OFFBOARDING_ (e.g. ..._MONGO_URI)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from crm_runtime.settings import ServiceSettings


class OffboardingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_OFFBOARDING_", extra="ignore")

    service_name: str = "offboarding"
    mongo_database: str = "crm_offboarding"
    http_port: int = 8004
