"""The CLI's settings: CRM_CLI_* variables, the same names as a service's (Kafka connection,
topic prefix), plus where the services answer and which API key to send."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from crm_runtime.settings import ServiceSettings

DEFAULT_URLS = {
    "contacts": "http://127.0.0.1:8001",
    "feedback": "http://127.0.0.1:8002",
    "loyalty": "http://127.0.0.1:8003",
    "offboarding": "http://127.0.0.1:8004",
    "insights": "http://127.0.0.1:8005",
}
LOCAL_KEYS = Path(".stack") / "api-keys.json"


class CliSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_CLI_", extra="ignore")

    service_name: str = "cli"
    service_urls: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_URLS), description="Base URL of each service."
    )
    api_key: SecretStr | None = Field(
        None, description="Bearer key; default: the local stack's manager key (.stack)."
    )
    http_timeout_s: float = 10.0

    def bearer(self) -> dict[str, str]:
        key = self.api_key.get_secret_value() if self.api_key else local_key("manager")
        return {"Authorization": f"Bearer {key}"} if key else {}

    def url(self, service: str) -> str:
        try:
            return self.service_urls[service].rstrip("/")
        except KeyError:
            known = ", ".join(sorted(self.service_urls))
            raise ValueError(f"unknown service {service!r}; known: {known}") from None


def local_key(role: str) -> str | None:
    """The local stack's key for ``role`` (``scripts/run`` writes them), if there is one."""
    if not LOCAL_KEYS.exists():
        return None
    keys: dict[str, str] = json.loads(LOCAL_KEYS.read_text())
    return next((key for key, r in keys.items() if r == role), None)
