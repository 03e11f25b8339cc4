"""The CloudEvents 1.0 Kafka protocol binding: read a record in either content mode.

- **Structured**: the value is the whole event as JSON. Chosen when the ``content-type``
  header is ``application/cloudevents+json`` (any other ``application/cloudevents*`` format
  is refused), and also when there is no ``content-type`` and no ``ce_*`` header at all —
  producers that only write the value are structured producers.
- **Binary**: every context attribute is a ``ce_<name>`` header (UTF-8), the
  ``content-type`` header is ``datacontenttype`` (``application/json``, parameters allowed;
  absent means JSON) and the value is ``data``. Chosen whenever a ``ce_*`` header is present
  and the content type is not a CloudEvents format; ``ce_specversion`` is then required.

Both modes end in the same ``CloudEvent`` model, so the same bounds apply to both. We
publish structured (``crm_runtime.outbox``); Kafka Connect and many producers use binary.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError
from pydantic_core import from_json

from crm_events.envelope import (
    MAX_EVENT_BYTES,
    CloudEvent,
    EnvelopeError,
    decode,
    summarise_validation_error,
)

STRUCTURED_JSON = "application/cloudevents+json"
CLOUDEVENTS_FORMATS = "application/cloudevents"
DATA_CONTENT_TYPE = "application/json"
ATTRIBUTE_PREFIX = "ce_"
Headers = Iterable[tuple[str, bytes | str | None]] | None


def decode_record(
    value: bytes | None, headers: Headers = None, *, max_bytes: int = MAX_EVENT_BYTES
) -> CloudEvent:
    """The event of one Kafka record, whichever content mode it uses; raise EnvelopeError
    with a human-readable reason when it is not a CloudEvents 1.0 event we can read."""
    found = _header_map(headers)
    content_type = found.get("content-type")
    if content_type is not None and media_type(content_type).startswith(CLOUDEVENTS_FORMATS):
        if media_type(content_type) != STRUCTURED_JSON:
            raise EnvelopeError(
                f"unsupported event format {content_type!r}: only {STRUCTURED_JSON} is read"
            )
        return decode(value, max_bytes=max_bytes)
    attributes = {
        name.removeprefix(ATTRIBUTE_PREFIX): text
        for name, text in found.items()
        if name.startswith(ATTRIBUTE_PREFIX)
    }
    if not attributes:
        return decode(value, max_bytes=max_bytes)
    return _decode_binary(value, attributes, content_type, max_bytes)


def media_type(content_type: str) -> str:
    """``application/json; charset=utf-8`` → ``application/json``."""
    return content_type.split(";", 1)[0].strip().lower()


def _header_map(headers: Headers) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw_name, raw_value in headers or ():
        name = raw_name.lower()
        if name != "content-type" and not name.startswith(ATTRIBUTE_PREFIX):
            continue  # tracing and other headers are none of the envelope's business
        if name in found:
            raise EnvelopeError(f"header {name!r} appears more than once")
        found[name] = _text(name, raw_value)
    return found


def _text(name: str, raw: bytes | str | None) -> str:
    if raw is None:
        raise EnvelopeError(f"header {name!r} has no value")
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvelopeError(f"header {name!r} is not UTF-8") from None


def _decode_binary(
    value: bytes | None, attributes: dict[str, str], content_type: str | None, max_bytes: int
) -> CloudEvent:
    if "specversion" not in attributes:
        raise EnvelopeError("binary mode: the ce_specversion header is required")
    if value is None:
        raise EnvelopeError("empty record value (tombstone)")
    size = len(value) + sum(len(name) + len(text) for name, text in attributes.items())
    if size > max_bytes:
        raise EnvelopeError(f"record of {size} bytes exceeds limit of {max_bytes}")
    if content_type is not None and media_type(content_type) != DATA_CONTENT_TYPE:
        raise EnvelopeError(
            f"unsupported datacontenttype {content_type!r}: data must be {DATA_CONTENT_TYPE}"
        )
    try:
        data: Any = from_json(value)
    except ValueError as exc:
        raise EnvelopeError(f"value is not JSON: {exc}") from exc
    # ``data`` and ``datacontenttype`` come from the value and content-type, never a header.
    envelope = {**attributes, "datacontenttype": DATA_CONTENT_TYPE, "data": data}
    try:
        return CloudEvent.model_validate(envelope)
    except ValidationError as exc:
        raise EnvelopeError(
            f"invalid CloudEvents envelope (binary mode): {summarise_validation_error(exc)}"
        ) from exc
