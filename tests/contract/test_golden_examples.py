"""Every catalogue entry has a golden example that consumers can decode, parse and trust."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from crm_events import CATALOG, REGISTRY, EventData, decode
from crm_events.artefacts import artefact_root
from crm_events.examples import golden_examples, load_golden

pytestmark = pytest.mark.unit

by_type = pytest.mark.parametrize("model", CATALOG, ids=lambda m: m.event_type())


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((artefact_root() / "schemas" / f"{name}.json").read_text())
    return Draft202012Validator(schema)


def test_every_catalogue_entry_has_exactly_one_golden_example() -> None:
    assert sorted(golden_examples()) == sorted(model.event_type() for model in CATALOG)


@by_type
def test_golden_example_decodes_and_parses(model: type[EventData]) -> None:
    event = decode(golden_examples()[model.event_type()])
    payload = REGISTRY.parse(event, topic=model.topic())
    assert type(payload) is model
    assert event.dataschema == model.schema_uri()
    assert event.subject == payload.subject
    assert event.key == payload.subject.encode()


@by_type
def test_golden_example_round_trips(model: type[EventData]) -> None:
    event = load_golden(model)
    assert decode(event.to_bytes()) == event
    payload = REGISTRY.parse(event)
    assert payload.model_dump(mode="json", exclude_none=True) == event.data


@by_type
def test_golden_example_validates_against_committed_schemas(model: type[EventData]) -> None:
    raw = json.loads(golden_examples()[model.event_type()])
    validator("cloudevent").validate(raw)
    validator(model.event_type()).validate(raw["data"])


def test_golden_examples_tell_a_causal_story() -> None:
    events = {event.id: event for event in map(load_golden, CATALOG)}
    caused = [(event, event.causationid) for event in events.values() if event.causationid]
    assert len(caused) > len(CATALOG) // 2
    for event, cause_id in caused:
        cause = events[cause_id]
        assert event.correlationid == cause.correlationid
        assert event.time >= cause.time


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def test_golden_examples_hold_only_obviously_fake_personal_data() -> None:
    for raw in golden_examples().values():
        for text in _strings(json.loads(raw)["data"]):
            for email in re.findall(r"[\w.+-]+@[\w.-]+", text):
                assert email.endswith("@example.com"), email
            if text.startswith("+"):
                assert "555-01" in text, text  # reserved fictional numbers


def test_schema_rejects_what_the_model_rejects() -> None:
    from crm_events.feedback import SurveyAnswered

    data = dict(load_golden(SurveyAnswered).data)
    del data["csat"], data["nps"]
    assert list(validator(SurveyAnswered.event_type()).iter_errors(data))
    data["nps"] = 11
    assert list(validator(SurveyAnswered.event_type()).iter_errors(data))
