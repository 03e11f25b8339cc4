"""Consumed envelopes → ``Observed`` facts, for any type of the catalogue (a type added later
is translated the same way: its name, its lane, its payload)."""

from __future__ import annotations

from crm_events import CloudEvent, EventData
from crm_insights.domain import JourneyEntry, Observed

CUSTOMER_FIELD = "customer_id"


def lane(topic: str) -> str:
    """``crm.<context>.<event>`` → the context: contacts, feedback, ..., inbound."""
    parts = topic.split(".")
    return parts[1] if len(parts) > 2 else topic


# Fields the journey never keeps: an export section is a copy of everything a service
# holds about the customer (its owner keeps it; the journey keeps only that it was sent).
NOT_KEPT = ("section",)


def observed(data: EventData, event: CloudEvent) -> Observed:
    payload = data.model_dump(mode="json", exclude_none=True, exclude=set(NOT_KEPT))
    customer = payload.get(CUSTOMER_FIELD) if data.subject_field == CUSTOMER_FIELD else None
    return Observed(
        event_id=event.id,
        event_type=type(data).event_name(),
        topic=data.topic(),
        service=lane(data.topic()),
        subject=data.subject,
        customer_id=None if customer is None else str(customer),
        at=event.time,
        correlation_id=event.correlationid or event.id,
        causation_id=event.causationid,
        data=payload,
    )


def journey_entry(fact: Observed, *, erased: bool = False) -> JourneyEntry:
    return JourneyEntry(
        entry_id=fact.event_id,
        customer_id=fact.customer_id,
        subject=fact.subject,
        service=fact.service,
        event_type=fact.event_type,
        at=fact.at,
        correlation_id=fact.correlation_id,
        causation_id=fact.causation_id,
        data=fact.data,
        erased=erased,
    )
