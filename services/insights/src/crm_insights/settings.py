"""Insights settings: every variable is prefixed CRM_INSIGHTS_ (e.g. CRM_INSIGHTS_MONGO_URI)."""

from __future__ import annotations

from pydantic import Field, SecretStr
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
    ui_session_secret: SecretStr | None = Field(
        None,
        description="Signs the UI's session cookies; set it when several instances serve the "
        "UI or sessions must survive a restart (default: random per process).",
    )
    ui_session_lifetime_s: int = Field(8 * 3600, ge=60, le=30 * 86400)
    ui_record_urls: dict[str, str] = Field(
        default_factory=lambda: {
            "contacts": "http://127.0.0.1:8001",
            "feedback": "http://127.0.0.1:8002",
            "loyalty": "http://127.0.0.1:8003",
            "offboarding": "http://127.0.0.1:8004",
        },
        description="Where the journey view links each service's record (its API).",
    )
