"""Loyalty settings: every variable is prefixed CRM_LOYALTY_ (e.g. CRM_LOYALTY_MONGO_URI)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from crm_runtime.settings import ServiceSettings


class LoyaltySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_LOYALTY_", extra="ignore")

    service_name: str = "loyalty"
    mongo_database: str = "crm_loyalty"
    http_port: int = 8003
