"""JSON Schemas (draft 2020-12) of the envelope and of every event payload."""

from __future__ import annotations

import inspect
from typing import Any

from crm_events.base import SCHEMA_BASE_URI, EventData
from crm_events.envelope import CloudEvent

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_SCHEMA_ID = f"{SCHEMA_BASE_URI}/cloudevent.json"


def description_of(model: type[EventData] | type[CloudEvent]) -> str:
    return inspect.cleandoc(model.__doc__ or "")


def summary_of(model: type[EventData]) -> str:
    """The first paragraph of the docstring on one line."""
    return " ".join(description_of(model).split("\n\n")[0].split())


def payload_schema(model: type[EventData]) -> dict[str, Any]:
    """Standalone schema of ``model``'s ``data``; ``$id`` is ``model.schema_uri()``."""
    schema = model.model_json_schema(mode="validation")
    schema["description"] = description_of(model)
    return {"$schema": DRAFT_2020_12, "$id": model.schema_uri(), **schema}


def envelope_schema() -> dict[str, Any]:
    """Schema of the CloudEvents 1.0 structured-mode envelope (``data`` left open)."""
    schema = CloudEvent.model_json_schema(mode="validation")
    schema["description"] = description_of(CloudEvent)
    return {"$schema": DRAFT_2020_12, "$id": ENVELOPE_SCHEMA_ID, **schema}
