"""Settings from the environment; each service subclasses with its own env prefix."""

from __future__ import annotations

import ssl
from enum import StrEnum
from typing import Any, Literal

from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    SYSTEM = "system"


class ServiceSettings(BaseSettings):
    """Common knobs. Subclasses set ``model_config = SettingsConfigDict(env_prefix=...)``."""

    # Validation errors would otherwise echo the offending input (API keys, URIs) to stderr.
    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", hide_input_in_errors=True)

    service_name: str = "crm"
    environment: str = Field("local", description="Deployment name, shown in logs.")

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
    kafka_group_id: str | None = Field(None, description="Defaults to crm-<service_name>.")
    kafka_group_instance_id: str | None = Field(
        None,
        description=(
            "Static group membership (KIP-345): a stable name per instance (e.g. the pod "
            "name) lets a restarted instance take its partitions back at once instead of "
            "after a rebalance; each instance of a group needs its own."
        ),
    )
    kafka_session_timeout_ms: int = Field(
        45_000, ge=1000, description="Group session timeout (Kafka's own default)."
    )
    kafka_heartbeat_interval_ms: int | None = Field(
        None, ge=100, description="Defaults to a third of the session timeout, at most 3 s."
    )
    kafka_max_poll_interval_ms: int = Field(
        300_000, ge=1000, description="Longest a batch may take before the group evicts us."
    )
    kafka_idempotent_producer: bool = Field(
        True, description="Idempotent producer (acks=all always); off only for stand-ins."
    )
    kafka_topic_prefix: str = Field(
        "", description="Prefix for every topic name (shared clusters, test isolation)."
    )
    kafka_topic_partitions: int = Field(4, ge=1)
    kafka_replication_factor: int = Field(1, ge=1)
    kafka_min_insync_replicas: int | None = Field(
        None, ge=1, description="Set on topics we create; default: the broker's."
    )
    kafka_retention_ms: int = Field(
        7 * 24 * 3_600_000, ge=-1, description="Event topics we create (-1: keep forever)."
    )
    kafka_dlq_retention_ms: int = Field(
        30 * 24 * 3_600_000, ge=-1, description="DLQ topics we create: they wait for people."
    )
    applied_marker_lifetime_s: int | None = Field(
        8 * 24 * 3600,
        ge=1,
        description="How long an aggregate remembers an applied event id; must cover "
        "KAFKA_RETENTION_MS (checked at start-up). Unset: forever.",
    )
    consumer_batch_size: int = Field(500, ge=1)
    consumer_concurrency: int = Field(
        16, ge=1, description="Keys (customers) applied concurrently within a batch."
    )
    max_event_bytes: int = 1_000_000

    mongo_uri: SecretStr = SecretStr("mongodb://127.0.0.1:27117/?directConnection=true")
    mongo_database: str = "crm"
    mongo_timeout_ms: int = 5_000

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    api_keys: dict[str, Role] = Field(
        default_factory=dict,
        repr=False,
        description='JSON map of bearer API key to role, e.g. {"k1": "agent"}.',
    )
    metrics_public: bool = True

    log_level: str = "INFO"
    log_json: bool = True

    outbox_poll_interval_s: float = 1.0
    sweep_interval_s: float = 1.0
    # Entries stay in their aggregate's document until the next write of it clears them;
    # after this long a sweeper inserts any still there (a crash) and clears them.
    pending_entries_grace_s: float = Field(default=30.0, ge=0)
    park_retry_s: float = Field(
        10.0,
        description="Safety net: how often the head of a parked sequence is retried when no "
        "record of its key arrives (a key's parked records are retried at once when one applies).",
    )
    park_grace_s: float = Field(
        3600.0, description="How long a parked event may wait before it is dead-lettered."
    )
    retry_initial_backoff_s: float = 0.2
    retry_max_backoff_s: float = 10.0
    max_attempts_unexpected: int = Field(
        5, ge=1, description="Attempts before an unexpected handler error dead-letters."
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _roles_known(cls, value: Any) -> Any:
        """Name the bad role, never the key (a per-key error location would print it)."""
        if isinstance(value, dict):
            allowed = {role.value for role in Role}
            for role in value.values():
                if role not in allowed:
                    raise ValueError(f"unknown role {role!r}; allowed: {sorted(allowed)}")
        return value

    @property
    def heartbeat_interval_ms(self) -> int:
        chosen = self.kafka_heartbeat_interval_ms
        return chosen or max(min(self.kafka_session_timeout_ms // 3, 3000), 100)

    @property
    def group_id(self) -> str:
        return self.kafka_group_id or f"crm-{self.service_name}"

    def aiokafka_kwargs(self) -> dict[str, Any]:
        """Connection kwargs for plain aiokafka clients (admin, tools) matching the settings."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            "security_protocol": self.kafka_security_protocol,
        }
        if self.kafka_security_protocol in {"SSL", "SASL_SSL"}:
            kwargs["ssl_context"] = ssl.create_default_context(cafile=self.kafka_ssl_cafile)
        if self.kafka_security_protocol.startswith("SASL"):
            kwargs["sasl_mechanism"] = self.kafka_sasl_mechanism
            kwargs["sasl_plain_username"] = self.kafka_sasl_username
            kwargs["sasl_plain_password"] = (
                self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
            )
        return kwargs

    def kafka_security(self) -> BaseSecurity | None:
        """FastStream security object for the configured protocol (None = plaintext)."""
        protocol = self.kafka_security_protocol
        if protocol == "PLAINTEXT":
            return None
        use_ssl = protocol in {"SSL", "SASL_SSL"}
        context = ssl.create_default_context(cafile=self.kafka_ssl_cafile) if use_ssl else None
        if protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        kwargs: dict[str, Any] = {
            "username": self.kafka_sasl_username or "",
            "password": self.kafka_sasl_password.get_secret_value()
            if self.kafka_sasl_password
            else "",
            "ssl_context": context,
            "use_ssl": use_ssl,
        }
        cls = {
            "PLAIN": SASLPlaintext,
            "SCRAM-SHA-256": SASLScram256,
            "SCRAM-SHA-512": SASLScram512,
        }[self.kafka_sasl_mechanism]
        return cls(**kwargs)
