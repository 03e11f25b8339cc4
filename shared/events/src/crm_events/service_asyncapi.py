"""The AsyncAPI 3.0 document of one service: what it sends, what it receives, its DLQs.

Built from the service's real wiring (the models it registers handlers for and the models
its outbox publishes), served at ``/asyncapi.json`` and committed as
``services/<name>/asyncapi.json``. Topic names are the contract's, without the deployment's
``KAFKA_TOPIC_PREFIX``. The catalogue-wide document stays ``crm_events.asyncapi``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm_events.asyncapi import (
    ASYNCAPI_VERSION,
    CONTENT_TYPE,
    KAFKA_BINDING_VERSION,
    _add_schemas,
    _channel,
    _message,
)
from crm_events.base import EventData

DEAD_LETTER = "DeadLetteredRecord"
DLQ_HEADERS = {
    "dlq-reason": "Why the record can never be applied (at most 1000 characters).",
    "dlq-kind": (
        "Class of failure: envelope, schema, rejected, prerequisite-missing, handler-error "
        "(new kinds may be added)."
    ),
    "dlq-original-topic": "Topic the record was consumed from.",
    "dlq-original-partition": "Its partition (decimal).",
    "dlq-original-offset": "Its offset (decimal).",
    "dlq-consumer-group": "Consumer group that gave up on it.",
    "dlq-failed-at": "When it was dead-lettered (RFC 3339).",
}


def service_asyncapi_document(
    service: str, *, receives: Iterable[type[EventData]], sends: Iterable[type[EventData]]
) -> dict[str, Any]:
    received = sorted(set(receives), key=lambda m: m.event_type())
    sent = sorted(set(sends), key=lambda m: m.event_type())
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for action, models in (("receive", received), ("send", sent)):
        for model in models:
            _add_schemas(schemas, model)
            messages[model.event_type()] = _message(model)
            channel = channels.setdefault(model.topic(), _channel(model))
            channel["messages"][model.event_type()] = {
                "$ref": f"#/components/messages/{model.event_type()}"
            }
            operations[f"{model.topic()}.{action}"] = _operation(service, action, model)
    if received:
        messages[DEAD_LETTER] = _dead_letter_message(service)
    for model in received:
        dlq = f"{model.topic()}.dlq"
        channels[dlq] = _dlq_channel(model)
        operations[f"{dlq}.send"] = _dlq_operation(service, model)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": f"urn:crm:{service}",
        "info": {
            "title": f"CRM {service} service",
            "version": "1.0.0",
            "description": (
                f"What the {service} service consumes (receive), publishes (send) and "
                "dead-letters (send, `<topic>.dlq`). Record values are CloudEvents 1.0 "
                "structured-mode JSON; the key is the customer id. Every topic name may "
                "carry the deployment's KAFKA_TOPIC_PREFIX."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {"messages": messages, "schemas": schemas},
    }


def _operation(service: str, action: str, model: type[EventData]) -> dict[str, Any]:
    if action == "send":
        title, summary = f"Publish {model.event_name()}", "Published through the outbox."
    else:
        title = f"Consume {model.event_name()}"
        summary = (
            f"Consumed by group crm-{service}; a record it can never apply goes to "
            f"{model.topic()}.dlq."
        )
    return {
        "action": action,
        "title": title,
        "summary": summary,
        "channel": {"$ref": f"#/channels/{model.topic()}"},
        "messages": [{"$ref": f"#/channels/{model.topic()}/messages/{model.event_type()}"}],
        "tags": [{"name": model.context}],
    }


def _dlq_channel(model: type[EventData]) -> dict[str, Any]:
    dlq = f"{model.topic()}.dlq"
    return {
        "address": dlq,
        "title": f"{model.event_name()} dead letters",
        "description": f"Records of {model.topic()} this service could never apply.",
        "messages": {DEAD_LETTER: {"$ref": f"#/components/messages/{DEAD_LETTER}"}},
        "bindings": {"kafka": {"topic": dlq, "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _dlq_operation(service: str, model: type[EventData]) -> dict[str, Any]:
    dlq = f"{model.topic()}.dlq"
    return {
        "action": "send",
        "title": f"Dead-letter {model.event_name()}",
        "summary": f"Sent by the {service} service when a record can never be applied.",
        "channel": {"$ref": f"#/channels/{dlq}"},
        "messages": [{"$ref": f"#/channels/{dlq}/messages/{DEAD_LETTER}"}],
    }


def _dead_letter_message(service: str) -> dict[str, Any]:
    headers = {name: {"type": "string", "description": text} for name, text in DLQ_HEADERS.items()}
    headers["dlq-failed-at"]["format"] = "date-time"
    return {
        "name": DEAD_LETTER,
        "title": "Dead-lettered record",
        "summary": f"A record the {service} service could never apply, unchanged.",
        "description": (
            "Key, value and headers of the original record, plus the dlq-* headers. "
            "Re-drive with `crm-dlq replay <topic>` once the cause is fixed."
        ),
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "required": sorted(DLQ_HEADERS),
            "properties": headers,
            "additionalProperties": {
                "type": "string",
                "description": "The original record's headers.",
            },
        },
        "payload": {
            "type": "string",
            "format": "binary",
            "description": "The original record value, byte for byte (may be invalid JSON).",
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original record key."},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
