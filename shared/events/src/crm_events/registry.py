"""Lookup from wire type/topic to the payload model, and payload parsing with reasons."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from crm_events.base import EventData
from crm_events.envelope import CloudEvent, summarise_validation_error


class SchemaError(ValueError):
    """The envelope is fine but the payload is not a valid event of a known type."""


class Registry:
    def __init__(self, models: Iterable[type[EventData]]) -> None:
        self._by_type: dict[str, type[EventData]] = {}
        self._by_topic: dict[str, type[EventData]] = {}
        for model in models:
            if model.event_type() in self._by_type:
                raise ValueError(f"duplicate event registration: {model.event_type()}")
            self._by_type[model.event_type()] = model
            # A breaking change adds a new version on the same topic; the newest one is
            # what a producer of that topic publishes today.
            current = self._by_topic.get(model.topic())
            if current is None or current.version < model.version:
                self._by_topic[model.topic()] = model

    @property
    def models(self) -> list[type[EventData]]:
        return list(self._by_type.values())

    def for_type(self, event_type: str) -> type[EventData]:
        try:
            return self._by_type[event_type]
        except KeyError:
            raise SchemaError(f"unknown event type {event_type!r}") from None

    @property
    def topics(self) -> list[str]:
        return list(self._by_topic)

    def for_topic(self, topic: str) -> type[EventData]:
        """The newest model published on ``topic``."""
        try:
            return self._by_topic[topic]
        except KeyError:
            raise SchemaError(f"unknown topic {topic!r}") from None

    def parse(self, event: CloudEvent, *, topic: str | None = None) -> EventData:
        """Validate ``event.data`` against its type; check it arrived on its own topic."""
        model = self.for_type(event.type)
        if topic is not None and model.topic() != topic:
            raise SchemaError(f"event type {event.type!r} does not belong on topic {topic!r}")
        try:
            data = model.model_validate(event.data)
        except ValidationError as exc:
            raise SchemaError(
                f"{event.type} payload invalid: {summarise_validation_error(exc)}"
            ) from exc
        if data.subject != event.subject:
            raise SchemaError(
                f"subject {event.subject!r} does not match payload {model.subject_field}"
            )
        return data
