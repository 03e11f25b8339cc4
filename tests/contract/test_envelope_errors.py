"""Records that can never be processed fail with the right exception and a readable reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm_events import REGISTRY, EnvelopeError, SchemaError, decode
from crm_events.examples import load_golden
from crm_events.feedback import ComplaintRaised, SurveyAnswered
from crm_events.loyalty import RiskDetected

pytestmark = pytest.mark.unit


def golden_body(model: Any = ComplaintRaised) -> dict[str, Any]:
    return load_golden(model).model_dump(mode="json", exclude_none=True)


def encode(body: Any) -> bytes:
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00", "not JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'"a string"', "not a JSON object"),
        (None, "tombstone"),
    ],
    ids=["bad-json", "bad-utf8", "array", "string", "tombstone"],
)
def test_unreadable_values_are_envelope_errors(raw: bytes | None, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        decode(raw)


@pytest.mark.parametrize("attribute", ["id", "source", "type", "subject", "time", "data"])
def test_missing_required_attribute_is_named(attribute: str) -> None:
    body = golden_body()
    del body[attribute]
    with pytest.raises(EnvelopeError, match=rf"{attribute}: Field required"):
        decode(encode(body))


def test_oversized_value_is_rejected_before_parsing() -> None:
    raw = golden_body()
    raw["data"]["description"] = "x" * 2000
    with pytest.raises(EnvelopeError, match="exceeds limit of 1024"):
        decode(encode(raw), max_bytes=1024)


@pytest.mark.parametrize(
    ("attribute", "value", "reason"),
    [
        ("specversion", "0.3", "specversion"),
        ("time", "2025-03-03T09:15:00", "time: .*timezone"),
        ("id", "", "id: String should have at least 1 character"),
        ("data", [1, 2], "data: Input should be (a valid dictionary|an object)"),
    ],
)
def test_malformed_attribute_is_an_envelope_error(attribute: str, value: Any, reason: str) -> None:
    body = golden_body() | {attribute: value}
    with pytest.raises(EnvelopeError, match=reason):
        decode(encode(body))


def test_unknown_event_type_is_a_schema_error() -> None:
    event = load_golden(ComplaintRaised).model_copy(update={"type": "crm.feedback.unheard-of.v1"})
    with pytest.raises(SchemaError, match=r"unknown event type 'crm\.feedback\.unheard-of\.v1'"):
        REGISTRY.parse(event)


def test_unknown_topic_is_a_schema_error() -> None:
    with pytest.raises(SchemaError, match="unknown topic"):
        REGISTRY.for_topic("crm.feedback.unheard-of")


def test_payload_violating_the_schema_names_the_field() -> None:
    body = golden_body()
    body["data"]["severity"] = "apocalyptic"
    event = decode(encode(body))
    with pytest.raises(SchemaError, match=r"complaint-raised\.v1 payload invalid: severity"):
        REGISTRY.parse(event, topic=ComplaintRaised.topic())


def test_survey_without_any_score_is_a_schema_error() -> None:
    body = golden_body(SurveyAnswered)
    del body["data"]["csat"], body["data"]["nps"]
    with pytest.raises(SchemaError, match="needs csat, nps or both"):
        REGISTRY.parse(decode(encode(body)))


def test_risk_without_reasons_is_a_schema_error() -> None:
    body = golden_body(RiskDetected)
    body["data"]["reasons"] = []
    with pytest.raises(SchemaError, match="reasons"):
        REGISTRY.parse(decode(encode(body)))


def test_naive_payload_timestamp_is_a_schema_error() -> None:
    body = golden_body()
    body["data"]["resolution_due_at"] = "2025-03-05T09:15:00"
    with pytest.raises(SchemaError, match="resolution_due_at"):
        REGISTRY.parse(decode(encode(body)))


def test_type_on_the_wrong_topic_is_a_schema_error() -> None:
    event = load_golden(ComplaintRaised)
    with pytest.raises(
        SchemaError, match=r"does not belong on topic 'crm\.loyalty\.risk-detected'"
    ):
        REGISTRY.parse(event, topic=RiskDetected.topic())


def test_subject_must_match_the_payload_customer() -> None:
    event = load_golden(ComplaintRaised).model_copy(update={"subject": "cus-9999"})
    with pytest.raises(SchemaError, match="subject 'cus-9999' does not match payload customer_id"):
        REGISTRY.parse(event)
