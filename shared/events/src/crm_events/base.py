"""Base class of every event payload and the naming rules that turn it into topics/types."""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from crm_events.envelope import SPEC_VERSION, CloudEvent, new_event_id, utcnow

SCHEMA_BASE_URI = "https://schemas.crm.example/events"
INBOUND = "inbound"


def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class EventData(BaseModel):
    """A past-tense fact. Subclasses set ``context`` and may set ``version``/``subject_field``.

    Unknown fields are ignored (additive evolution); instances are immutable.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    context: ClassVar[str]
    version: ClassVar[int] = 1
    subject_field: ClassVar[str] = "customer_id"

    @classmethod
    def event_name(cls) -> str:
        return cls.__name__

    @classmethod
    def topic(cls) -> str:
        return f"crm.{cls.context}.{kebab(cls.event_name())}"

    @classmethod
    def event_type(cls) -> str:
        return f"{cls.topic()}.v{cls.version}"

    @classmethod
    def schema_uri(cls) -> str:
        return f"{SCHEMA_BASE_URI}/{cls.event_type()}.json"

    @property
    def subject(self) -> str:
        return str(getattr(self, self.subject_field))

    def to_event(
        self,
        *,
        source: str,
        event_id: str | None = None,
        time: datetime | None = None,
        cause: CloudEvent | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> CloudEvent:
        """Wrap this payload in an envelope; a derived event inherits its cause's correlation.

        Pass ``cause`` when the causing envelope is at hand, or ``correlation_id`` and
        ``causation_id`` when only the stored ids are (e.g. a timer fired long after).
        """
        eid = event_id or new_event_id()
        correlation = cause.correlationid if cause is not None else correlation_id or eid
        causation = cause.id if cause is not None else causation_id
        return CloudEvent(
            specversion=SPEC_VERSION,
            id=eid,
            source=source,
            type=self.event_type(),
            subject=self.subject,
            time=time or utcnow(),
            dataschema=self.schema_uri(),
            correlationid=correlation,
            causationid=causation,
            data=self.model_dump(mode="json", exclude_none=True),
        )
