"""Feedback settings: every variable is prefixed CRM_FEEDBACK_ (e.g. CRM_FEEDBACK_MONGO_URI)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from crm_runtime.settings import ServiceSettings


class FeedbackSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_FEEDBACK_", extra="ignore")

    service_name: str = "feedback"
    mongo_database: str = "crm_feedback"
    http_port: int = 8002
