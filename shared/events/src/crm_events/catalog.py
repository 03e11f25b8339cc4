"""The whole lifecycle catalogue: every event type the platform knows."""

from __future__ import annotations

from crm_events.base import EventData
from crm_events.contacts import CONTACTS_EVENTS
from crm_events.feedback import FEEDBACK_EVENTS
from crm_events.inbound import INBOUND_EVENTS
from crm_events.loyalty import LOYALTY_EVENTS
from crm_events.offboarding import OFFBOARDING_EVENTS
from crm_events.registry import Registry

CATALOG: tuple[type[EventData], ...] = (
    *CONTACTS_EVENTS,
    *FEEDBACK_EVENTS,
    *LOYALTY_EVENTS,
    *OFFBOARDING_EVENTS,
    *INBOUND_EVENTS,
)
REGISTRY = Registry(CATALOG)
