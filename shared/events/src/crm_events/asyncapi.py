"""The AsyncAPI 3.0 document of the whole catalogue, built from the models in-process.

Served by every service at ``/asyncapi.json`` and committed as ``shared/events/asyncapi.json``.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from crm_events.base import EventData
from crm_events.catalog import REGISTRY
from crm_events.examples import build_example
from crm_events.schemas import description_of, envelope_schema, summary_of

ASYNCAPI_VERSION = "3.0.0"
CONTENT_TYPE = "application/cloudevents+json"
KAFKA_BINDING_VERSION = "0.5.0"
PRODUCERS = {
    "contacts": "the contacts service",
    "feedback": "the feedback service",
    "loyalty": "the loyalty service",
    "offboarding": "the offboarding service",
    "inbound": "other company systems (order system, call centre, HR, finance, legal)",
}


def asyncapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may mutate it)."""
    return copy.deepcopy(_document())


@cache
def _document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for model in sorted(REGISTRY.models, key=lambda m: m.event_type()):
        _add_schemas(schemas, model)
        messages[model.event_type()] = _message(model)
        channel = channels.setdefault(model.topic(), _channel(model))
        channel["messages"][model.event_type()] = {
            "$ref": f"#/components/messages/{model.event_type()}"
        }
        operation = operations.setdefault(f"{model.topic()}.send", _operation(model))
        operation["messages"].append(
            {"$ref": f"#/channels/{model.topic()}/messages/{model.event_type()}"}
        )
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:crm:events",
        "info": {
            "title": "CRM event platform",
            "version": "1.0.0",
            "description": (
                "Every fact exchanged over Kafka by the CRM services. One topic per event "
                "type; the record value is a CloudEvents 1.0 structured-mode JSON event, "
                "the record key is the customer id (the employee id for "
                "crm.inbound.employee-departed) so one customer's events stay ordered."
            ),
            "tags": [
                {"name": context, "description": f"Published by {producer}."}
                for context, producer in PRODUCERS.items()
            ],
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _add_schemas(schemas: dict[str, Any], model: type[EventData]) -> None:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are both named {name!r}")
    schema["description"] = description_of(model)
    schemas[model.event_type()] = schema


def _message(model: type[EventData]) -> dict[str, Any]:
    payload = envelope_schema()
    del payload["$schema"], payload["$id"]
    payload["title"] = f"{model.event_name()} event"
    properties = payload["properties"]
    properties["type"] = {"const": model.event_type(), "type": "string"}
    properties["dataschema"] = {"const": model.schema_uri(), "type": "string"}
    properties["subject"] = {**properties["subject"], "description": _key_text(model)}
    properties["data"] = {"$ref": f"#/components/schemas/{model.event_type()}"}
    example = build_example(model).model_dump(mode="json", exclude_none=True)
    return {
        "name": model.event_name(),
        "title": model.event_name(),
        "summary": summary_of(model),
        "description": description_of(model),
        "contentType": CONTENT_TYPE,
        "correlationId": {
            "description": "Shared by every event of one business journey.",
            "location": "$message.payload#/correlationid",
        },
        "payload": payload,
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": _key_text(model)},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
        "examples": [{"name": "golden", "summary": "Golden example", "payload": example}],
    }


def _channel(model: type[EventData]) -> dict[str, Any]:
    return {
        "address": model.topic(),
        "title": model.event_name(),
        "description": description_of(model),
        "messages": {},
        "bindings": {"kafka": {"topic": model.topic(), "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _operation(model: type[EventData]) -> dict[str, Any]:
    return {
        "action": "send",
        "title": f"Publish {model.event_name()}",
        "summary": f"Published by {PRODUCERS[model.context]}.",
        "channel": {"$ref": f"#/channels/{model.topic()}"},
        "messages": [],
        "tags": [{"name": model.context}],
    }


def _key_text(model: type[EventData]) -> str:
    if model.subject_field == "customer_id":
        return "The customer id (payload customer_id)."
    return f"The payload {model.subject_field} (this fact is not about one customer)."
