"""Shape of a hand-written golden example (payload plus the envelope facts it needs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_events.base import EventData
from crm_events.envelope import deterministic_event_id

CUSTOMER = "cus-1001"  # the fictional customer whose whole lifecycle the examples tell
OWNER = "emp-201"
COLLEAGUE = "emp-202"
MANAGER = "emp-301"


@dataclass(frozen=True)
class Example:
    """``data`` is the payload; ``caused_by`` links the example into one causal story."""

    time: str
    data: dict[str, Any] = field(default_factory=dict)
    caused_by: type[EventData] | None = None
    source: str | None = None


def example_id(model: type[EventData]) -> str:
    """The fixed event id of ``model``'s golden example."""
    return deterministic_event_id("golden-example", model.event_type())
