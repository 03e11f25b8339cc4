"""The envelope decoder, both content modes of the CloudEvents Kafka binding.

Finding: a record without ``specversion`` (REQUIRED) was accepted, while a plain CloudEvent
without our ``correlationid`` extension (OPTIONAL) was dead-lettered. Now the decoder is
strict where the spec is strict and lenient where it is lenient, in structured and in
binary mode alike, and nothing but an ``EnvelopeError`` ever escapes it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_events import CloudEvent, EnvelopeError, decode_record
from crm_events.bounds import TIME_MAX, TIME_MIN

pytestmark = pytest.mark.unit
PROPERTY = settings(max_examples=150, deadline=None, database=None)
STRUCTURED = [("content-type", b"application/cloudevents+json; charset=utf-8")]

ids = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=200)
offsets = st.integers(min_value=-1439, max_value=1439).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
times = st.builds(
    lambda moment, tz: moment.replace(tzinfo=UTC).astimezone(tz).isoformat(),
    st.datetimes(min_value=TIME_MIN.replace(tzinfo=None), max_value=TIME_MAX.replace(tzinfo=None)),
    offsets,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@st.composite
def attributes(draw: st.DrawFn) -> dict[str, Any]:
    """Context attributes of a valid CloudEvents 1.0 event, extensions sometimes absent."""
    found: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(ids),
        "source": draw(ids),
        "type": draw(ids),
        "subject": draw(ids),
        "time": draw(times),
    }
    for optional in ("correlationid", "causationid", "dataschema"):
        if draw(st.booleans()):
            found[optional] = draw(ids)
    return found


def structured(attrs: dict[str, Any], data: dict[str, Any]) -> bytes:
    return json.dumps({**attrs, "datacontenttype": "application/json", "data": data}).encode()


def binary(attrs: dict[str, Any], data: Any) -> tuple[bytes, list[tuple[str, bytes]]]:
    headers = [(f"ce_{name}", str(value).encode()) for name, value in attrs.items()]
    headers.append(("content-type", b"application/json"))
    return json.dumps(data).encode(), headers


data_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)


@PROPERTY
@given(attributes(), data_objects)
def test_both_content_modes_decode_to_the_same_event(
    attrs: dict[str, Any], data: dict[str, Any]
) -> None:
    from_structured = decode_record(structured(attrs, data), STRUCTURED)
    from_plain_value = decode_record(structured(attrs, data), None)
    from_binary = decode_record(*binary(attrs, data))

    assert from_structured == from_plain_value == from_binary
    assert from_structured.correlationid == attrs.get("correlationid", attrs["id"])
    assert from_structured.time == datetime.fromisoformat(attrs["time"])
    assert decode_record(from_structured.to_bytes(), STRUCTURED) == from_structured


@PROPERTY
@given(attributes(), data_objects, st.sampled_from(["structured", "binary"]))
def test_specversion_is_required_in_both_modes(
    attrs: dict[str, Any], data: dict[str, Any], mode: str
) -> None:
    del attrs["specversion"]
    value, headers = (
        (structured(attrs, data), STRUCTURED) if mode == "structured" else binary(attrs, data)
    )
    with pytest.raises(EnvelopeError, match="specversion"):
        decode_record(value, headers)


@PROPERTY
@given(attributes(), data_objects, st.sampled_from(["0.3", "1", "1.0.0", "2.0"]))
def test_only_specversion_1_0_is_read(
    attrs: dict[str, Any], data: dict[str, Any], version: str
) -> None:
    attrs["specversion"] = version
    with pytest.raises(EnvelopeError, match="specversion"):
        decode_record(*binary(attrs, data))
    with pytest.raises(EnvelopeError, match="specversion"):
        decode_record(structured(attrs, data))


@PROPERTY
@given(
    st.binary(max_size=200) | st.none(),
    st.lists(
        st.tuples(
            st.sampled_from(["content-type", "ce_specversion", "ce_id", "ce_time", "x-trace"])
            | st.text(max_size=12),
            st.binary(max_size=40) | st.text(max_size=40) | st.none(),
        ),
        max_size=6,
    ),
)
def test_arbitrary_records_decode_or_fail_with_a_reason(
    value: bytes | None, headers: list[tuple[str, Any]]
) -> None:
    try:
        event: CloudEvent | str = decode_record(value, headers)
    except EnvelopeError as exc:
        event = exc.args[0]
    if isinstance(event, str):
        assert event  # a reason for the DLQ header, never an empty one
    else:
        assert TIME_MIN <= event.time <= TIME_MAX


@PROPERTY
@given(
    attributes(), data_objects, st.sampled_from(["0587-04-10T19:42:06Z", "2200-01-02T00:00:00Z"])
)
def test_an_envelope_time_outside_the_range_is_refused(
    attrs: dict[str, Any], data: dict[str, Any], time: str
) -> None:
    attrs["time"] = time
    for value, headers in [(structured(attrs, data), None), binary(attrs, data)]:
        with pytest.raises(EnvelopeError, match="timestamp must lie between"):
            decode_record(value, headers)


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (b"{}", [("content-type", b"application/cloudevents+avro")], "unsupported event format"),
        (b"{}", [("ce_id", b"e-1"), ("content-type", b"text/plain")], "ce_specversion"),
        (b"{}", [("ce_specversion", b"1.0"), ("content-type", b"text/plain")], "datacontenttype"),
        (b"{}", [("ce_specversion", b"1.0"), ("ce_specversion", b"1.0")], "more than once"),
        (b"{}", [("ce_specversion", b"\xff")], "not UTF-8"),
        (b"{not json", [("ce_specversion", b"1.0")], "not JSON"),
        (None, [("ce_specversion", b"1.0")], "tombstone"),
        (b"[1]", [("ce_specversion", b"1.0"), ("ce_id", b"e")], "data"),
    ],
)
def test_binary_mode_refusals_name_the_reason(
    value: bytes | None, headers: list[tuple[str, bytes]], reason: str
) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        decode_record(value, headers)


def test_a_binary_record_larger_than_the_limit_is_refused() -> None:
    attrs = {"specversion": "1.0", "id": "e-1", "source": "/s", "type": "t", "subject": "c"}
    value, headers = binary({**attrs, "time": "2026-01-01T00:00:00Z"}, {"x": "y" * 2000})
    with pytest.raises(EnvelopeError, match="exceeds limit of 1024"):
        decode_record(value, headers, max_bytes=1024)
