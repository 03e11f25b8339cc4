"""Contacts settings: every variable is prefixed CRM_CONTACTS_ (e.g. CRM_CONTACTS_MONGO_URI)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from crm_runtime.settings import ServiceSettings


class ContactsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_CONTACTS_", extra="ignore")

    service_name: str = "contacts"
    mongo_database: str = "crm_contacts"
    http_port: int = 8001
