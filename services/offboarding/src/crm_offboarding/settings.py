"""Offboarding settings: every variable is prefixed CRM_OFFBOARDING_ (e.g. ..._MONGO_URI)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crm_offboarding.aftercare import AftercareRules
from crm_runtime.settings import ServiceSettings


class OffboardingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_OFFBOARDING_", extra="ignore")

    service_name: str = "offboarding"
    mongo_database: str = "crm_offboarding"
    http_port: int = 8004
    # Data disposal (issue 9): personal data is kept this long after the relationship
    # ended, the services then have this long to attest, and these must attest; the
    # export services each add a section to a data export.
    disposal_retention_s: int = Field(90 * 86_400, ge=0, le=20 * 366 * 86_400)
    attestation_deadline_s: int = Field(7 * 86_400, ge=60, le=366 * 86_400)
    disposal_services: list[str] = Field(
        default=["contacts", "feedback", "loyalty", "offboarding", "insights"], min_length=1
    )
    export_services: list[str] = Field(
        default=["contacts", "feedback", "loyalty", "offboarding"], min_length=1
    )
    # The follow-up service period when the exit agreement names none.
    follow_up_s: int = Field(30 * 86_400, ge=0, le=5 * 366 * 86_400)

    def aftercare_rules(self) -> AftercareRules:
        return AftercareRules(
            retention=timedelta(seconds=self.disposal_retention_s),
            attestation_deadline=timedelta(seconds=self.attestation_deadline_s),
            services=tuple(self.disposal_services),
            exporters=tuple(self.export_services),
            follow_up=timedelta(seconds=self.follow_up_s),
        )
