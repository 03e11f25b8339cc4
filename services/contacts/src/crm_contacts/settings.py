"""Contacts settings: every variable is prefixed CRM_CONTACTS_ (e.g. CRM_CONTACTS_MONGO_URI).
Lists and maps are JSON, e.g. ``CRM_CONTACTS_FOLLOW_UP_DAYS='{"new": 14, "loyal": 30}'``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from crm_contacts.rules import Rules
from crm_runtime.settings import ServiceSettings

Days = Annotated[int, Field(ge=1, le=3650)]


class ContactsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_CONTACTS_", extra="ignore")

    service_name: str = "contacts"
    mongo_database: str = "crm_contacts"
    http_port: int = 8001

    # Classification (seed 003): potential → new → loyal → churned, and back by buying.
    loyal_purchases: int = Field(
        3, ge=1, le=1000, description="K purchases make a customer loyal ..."
    )
    loyal_window_days: Days = Field(365, description="... within this many days.")
    loyal_tiers: list[str] = Field(["gold", "platinum"], description="Tiers that make loyal.")
    churn_after_days: Days = Field(180, description="No purchase and no contact: churned.")
    # Regular follow-ups: days between visits per class, per tier (the shorter wins).
    follow_up_days: dict[str, Days] = Field(default_factory=lambda: {"new": 14, "loyal": 30})
    follow_up_tier_days: dict[str, Days] = Field(default_factory=dict)
    win_back_after_days: Days | None = Field(7, description="A churned customer's one visit.")
    follow_up_channels: list[str] = Field(["phone", "visit", "meeting"])
    # Who takes over a departed employee's account when HR names no (live) successor.
    successor_roles: list[str] = Field(["deputy", "sales", "member"])
    manager_role: str = "manager"
    default_owner_pool: list[str] = Field(["account-pool"], min_length=1)
    departure_recheck_s: int = Field(600, ge=1, description="Hand-over runs once more then.")

    def rules(self) -> Rules:
        return Rules(
            loyal_purchases=self.loyal_purchases,
            loyal_window=_days(self.loyal_window_days),
            loyal_tiers=frozenset(self.loyal_tiers),
            churn_after=_days(self.churn_after_days),
            cadence={k: _days(v) for k, v in self.follow_up_days.items()},
            tier_cadence={k: _days(v) for k, v in self.follow_up_tier_days.items()},
            win_back_after=None
            if self.win_back_after_days is None
            else _days(self.win_back_after_days),
            qualifying_channels=frozenset(self.follow_up_channels),
            successor_roles=tuple(self.successor_roles),
            manager_role=self.manager_role,
            default_pool=tuple(self.default_owner_pool),
        )


def _days(count: int) -> timedelta:
    return timedelta(days=count)
