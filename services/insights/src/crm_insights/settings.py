"""Insights settings: every variable is prefixed CRM_INSIGHTS_ (e.g. CRM_INSIGHTS_MONGO_URI)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crm_runtime.settings import ServiceSettings


class InsightsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_INSIGHTS_", extra="ignore")

    service_name: str = "insights"
    mongo_database: str = "crm_insights"
    http_port: int = 8005
    kpi_fold_batch: int = Field(
        500, ge=1, le=10_000, description="KPI contributions folded into buckets per sweep."
    )
