"""The committed JSON Schemas, golden examples and AsyncAPI document are current."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from crm_events import CATALOG, asyncapi_document
from crm_events.artefacts import ASYNCAPI, artefact_root
from crm_events.generate import check, render
from tests.support import json_refs

pytestmark = pytest.mark.unit


def test_committed_artefacts_are_current() -> None:
    assert check() == [], "run `python -m crm_events.generate` and commit the result"


def test_generation_is_deterministic() -> None:
    assert render() == render()


def test_asyncapi_document_matches_committed_file() -> None:
    committed = json.loads((artefact_root() / ASYNCAPI).read_text())
    assert asyncapi_document() == committed


def test_asyncapi_document_returns_a_private_copy() -> None:
    asyncapi_document()["info"]["title"] = "changed"
    assert asyncapi_document()["info"]["title"] == "CRM event platform"


def test_asyncapi_header() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "CRM event platform"
    assert document["info"]["version"] == "1.0.0"
    assert document["defaultContentType"] == "application/cloudevents+json"


def test_asyncapi_has_one_channel_per_topic() -> None:
    channels = asyncapi_document()["channels"]
    assert sorted(channels) == sorted({model.topic() for model in CATALOG})
    for topic, channel in channels.items():
        assert channel["address"] == topic
        assert channel["bindings"]["kafka"]["topic"] == topic


def test_asyncapi_operations_send_from_the_producing_context() -> None:
    operations = asyncapi_document()["operations"]
    assert len(operations) == len({model.topic() for model in CATALOG})
    for model in CATALOG:
        operation = operations[f"{model.topic()}.send"]
        assert operation["action"] == "send"
        assert operation["channel"] == {"$ref": f"#/channels/{model.topic()}"}
        assert operation["tags"] == [{"name": model.context}]
        if model.context == "inbound":
            assert "other company systems" in operation["summary"]
        else:
            assert f"the {model.context} service" in operation["summary"]


def test_asyncapi_messages_carry_envelope_correlation_and_kafka_key() -> None:
    messages = asyncapi_document()["components"]["messages"]
    for model in CATALOG:
        message = messages[model.event_type()]
        assert message["contentType"] == "application/cloudevents+json"
        assert message["correlationId"]["location"] == "$message.payload#/correlationid"
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        properties = message["payload"]["properties"]
        assert properties["type"]["const"] == model.event_type()
        assert properties["data"] == {"$ref": f"#/components/schemas/{model.event_type()}"}
        assert message["examples"][0]["payload"]["type"] == model.event_type()


def test_asyncapi_internal_references_resolve() -> None:
    document = asyncapi_document()
    refs = set(json_refs(document))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        node: Any = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]


@pytest.mark.parametrize("model", CATALOG, ids=lambda m: m.event_type())
def test_committed_payload_schema_is_valid_2020_12(model: Any) -> None:
    schema = json.loads((artefact_root() / "schemas" / f"{model.event_type()}.json").read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == model.schema_uri()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_committed_envelope_schema_is_valid_2020_12() -> None:
    schema = json.loads((artefact_root() / "schemas" / "cloudevent.json").read_text())
    Draft202012Validator.check_schema(schema)
    assert {"id", "source", "type", "subject", "time", "data"} <= set(schema["required"])
