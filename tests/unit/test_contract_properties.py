"""Every contract model of the catalogue, driven by its own published JSON Schema.

- What a model accepts serialises, travels in an envelope, is decoded and re-validated to
  the same value, and its timestamps survive the stored form.
- A value outside a declared bound (10^40, a year 0587, …) is refused by validation, so
  it never reaches a handler (finding: 10^40 failed the handler five times).
- Every integer and timestamp in every published schema carries its bounds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crm_events import CATALOG, REGISTRY, EventData, decode
from crm_events.bounds import INT64_MAX, INT64_MIN, TIME_MAX, TIME_MIN
from crm_events.examples import load_golden
from crm_events.schemas import envelope_schema, payload_schema
from crm_runtime.timestamps import stamp, unstamp

pytestmark = pytest.mark.unit
PROPERTY = settings(max_examples=40, deadline=None, database=None)
by_type = pytest.mark.parametrize("model", CATALOG, ids=lambda m: m.event_type())
HUGE = 10**40
ONE_MICROSECOND = timedelta(microseconds=1)
offsets = st.integers(min_value=-1439, max_value=1439).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


def instants(lo: datetime, hi: datetime) -> st.SearchStrategy[str]:
    naive = st.datetimes(min_value=lo.replace(tzinfo=None), max_value=hi.replace(tzinfo=None))
    return st.builds(
        lambda moment, tz: moment.replace(tzinfo=UTC).astimezone(tz).isoformat(), naive, offsets
    )


def non_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    return branches[0]


def bounded_fields(model: type[EventData]) -> dict[str, dict[str, Any]]:
    """Payload fields that are integers, timestamps or maps of integers, by schema."""
    found = {}
    for name, prop in payload_schema(model)["properties"].items():
        schema = non_null(prop)
        is_int_map = schema.get("additionalProperties", {}).get("type") == "integer"
        if schema.get("type") == "integer" or schema.get("format") == "date-time" or is_int_map:
            found[name] = schema
    return found


def in_bounds(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if schema.get("format") == "date-time":
        return instants(TIME_MIN, TIME_MAX)
    if schema.get("type") == "integer":
        return st.integers(schema["minimum"], schema["maximum"])
    codes = st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True)
    return st.dictionaries(codes, in_bounds(schema["additionalProperties"]), max_size=4)


def out_of_bounds(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if schema.get("format") == "date-time":
        return st.one_of(
            instants(datetime(2, 1, 1, tzinfo=UTC), TIME_MIN - ONE_MICROSECOND),
            instants(TIME_MAX + ONE_MICROSECOND, datetime(9998, 1, 1, tzinfo=UTC)),
            st.just("0587-04-10T19:42:06Z"),
        )
    if schema.get("type") == "integer":
        return st.one_of(
            st.integers(max_value=schema["minimum"] - 1, min_value=-HUGE),
            st.integers(min_value=schema["maximum"] + 1, max_value=HUGE),
            st.just(HUGE),
        )
    return st.builds(lambda value: {"reason": value}, out_of_bounds(schema["additionalProperties"]))


def golden_data(model: type[EventData]) -> dict[str, Any]:
    return dict(load_golden(model).data)


@st.composite
def accepted(draw: st.DrawFn, model: type[EventData]) -> EventData:
    """A payload varying every bounded field of the golden example; one the model accepts."""
    data = golden_data(model)
    required = set(payload_schema(model).get("required", []))
    for name, schema in bounded_fields(model).items():
        choices = ["golden", "drawn"] + ([] if name in required else ["absent"])
        choice = draw(st.sampled_from(choices))
        if choice == "drawn":
            data[name] = draw(in_bounds(schema))
        elif choice == "absent":
            data.pop(name, None)
    try:
        return model.model_validate(data)
    except ValidationError:
        assume(False)  # e.g. a survey answer without any score
        raise


def datetimes_of(payload: EventData) -> list[datetime]:
    values = (getattr(payload, name) for name in type(payload).model_fields)
    return [value for value in values if isinstance(value, datetime)]


@by_type
@PROPERTY
@given(data=st.data())
def test_what_a_model_accepts_round_trips(model: type[EventData], data: st.DataObject) -> None:
    payload = data.draw(accepted(model))
    time = data.draw(instants(TIME_MIN, TIME_MAX))

    event = payload.to_event(source="/property", time=datetime.fromisoformat(time))
    received = REGISTRY.parse(decode(event.to_bytes()))

    assert model.model_validate_json(payload.model_dump_json()) == payload
    assert received == payload
    for moment in [*datetimes_of(payload), event.time]:
        assert moment.tzinfo is UTC
        assert unstamp(stamp(moment)) == moment


@pytest.mark.parametrize(
    "model",
    [model for model in CATALOG if bounded_fields(model)],
    ids=lambda m: m.event_type(),
)
@PROPERTY
@given(data=st.data())
def test_values_outside_the_bounds_are_refused(model: type[EventData], data: st.DataObject) -> None:
    fields = bounded_fields(model)
    name = data.draw(st.sampled_from(sorted(fields)))
    payload = {**golden_data(model), name: data.draw(out_of_bounds(fields[name]))}

    with pytest.raises(ValidationError) as refused:
        model.model_validate(payload)

    assert any(error["loc"][0] == name for error in refused.value.errors())


def walk(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every sub-schema with its path."""
    if isinstance(schema, list):
        return [found for n, item in enumerate(schema) for found in walk(item, f"{path}/{n}")]
    if not isinstance(schema, dict):
        return []
    nested = [found for key, value in schema.items() for found in walk(value, f"{path}/{key}")]
    return [(path, schema), *nested]


@pytest.mark.parametrize(
    "schema",
    [envelope_schema(), *(payload_schema(model) for model in CATALOG)],
    ids=["cloudevent", *(model.event_type() for model in CATALOG)],
)
def test_every_published_schema_states_its_bounds(schema: dict[str, Any]) -> None:
    unbounded = []
    for path, sub in walk(schema):
        if sub.get("type") == "integer" and not (
            sub.get("minimum", INT64_MIN - 1) >= INT64_MIN
            and sub.get("maximum", INT64_MAX + 1) <= INT64_MAX
        ):
            unbounded.append(path)
        if sub.get("format") == "date-time" and (
            sub.get("formatMinimum"),
            sub.get("formatMaximum"),
        ) != ("1900-01-01T00:00:00Z", "2200-01-01T00:00:00Z"):
            unbounded.append(path)
    assert unbounded == []


def test_ten_to_the_forty_in_a_purchase_is_refused_by_validation() -> None:
    from crm_events.inbound import PaymentOverdue, PurchaseRecorded

    for model in (PurchaseRecorded, PaymentOverdue):
        with pytest.raises(ValidationError, match="less than or equal to 1000000000000000"):
            model.model_validate({**golden_data(model), "amount_minor": HUGE})
