"""Field types shared by several events."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from crm_events.bounds import (
    AmountMinor,
    Count,
    Days,
    Int64,
    Percent,
    Points,
    Seconds,
    SignedPoints,
    Timestamp,
    TotalMinor,
)

__all__ = [
    "AmountMinor",
    "Channel",
    "Count",
    "CurrencyCode",
    "CustomerClass",
    "CustomerId",
    "Days",
    "Direction",
    "EmployeeId",
    "EntityId",
    "FreeText",
    "Int64",
    "Percent",
    "Points",
    "RiskCategory",
    "Seconds",
    "Severity",
    "ShortText",
    "SignedPoints",
    "Timestamp",
    "TotalMinor",
]

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"

CustomerId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=_ID_PATTERN,
        description="Company-wide customer id (letters, digits, '.', '_', ':', '-').",
    ),
]
EmployeeId = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=_ID_PATTERN, description="Employee id from HR."),
]
EntityId = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=_ID_PATTERN, description="Id of an entity."),
]
CurrencyCode = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 currency code, e.g. EUR.")
]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
FreeText = Annotated[
    str, Field(max_length=4000, description="Free text; may hold personal data, never logged.")
]


class Channel(StrEnum):
    """The touchpoint through which customer and company met."""

    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    SOCIAL = "social"
    VISIT = "visit"
    MEETING = "meeting"
    EVENT = "event"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class CustomerClass(StrEnum):
    """Lifecycle classification derived from facts (purchases, activity, inactivity)."""

    POTENTIAL = "potential"
    NEW = "new"
    LOYAL = "loyal"
    CHURNED = "churned"


class RiskCategory(StrEnum):
    """Why a relationship may end; the four categories of the dissolution case study."""

    CUSTOMER_PERFORMANCE = "customer_performance"
    MARKET_COMPETITION = "market_competition"
    COMPANY_STRATEGY = "company_strategy"
    LAW_AND_REGULATION = "law_and_regulation"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
