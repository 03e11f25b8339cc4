"""CRM event contracts: envelope, catalogue and payload models. Depends on pydantic only."""

from crm_events.asyncapi import asyncapi_document
from crm_events.base import EventData
from crm_events.binding import decode_record
from crm_events.catalog import CATALOG, REGISTRY
from crm_events.envelope import (
    CloudEvent,
    EnvelopeError,
    decode,
    deterministic_event_id,
    new_event_id,
)
from crm_events.registry import Registry, SchemaError

__all__ = [
    "CATALOG",
    "REGISTRY",
    "CloudEvent",
    "EnvelopeError",
    "EventData",
    "Registry",
    "SchemaError",
    "asyncapi_document",
    "decode",
    "decode_record",
    "deterministic_event_id",
    "new_event_id",
]
