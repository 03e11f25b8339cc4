"""Base class of every event payload and the naming rules that turn it into topics/types."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from crm_events.envelope import SPEC_VERSION, CloudEvent, new_event_id, utcnow

SCHEMA_BASE_URI = "https://schemas.crm.example/events"
INBOUND = "inbound"
# Long business keys are hashed so they stay usable as a document ``_id``.
MAX_IDENTITY_CHARS = 300


@functools.cache
def kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


class EventData(BaseModel):
    """A past-tense fact. Subclasses set ``context`` and ``business_key`` and may set
    ``version``/``subject_field``/``volatile_fields``.

    ``business_key`` names the payload fields that identify the fact whatever its event id
    (other systems retry with new ids): the same key with the same content is the same fact,
    the same key with other content is a conflict. ``()`` says the type has no natural key
    (each event is a fact of its own); ``None`` means not declared yet. ``volatile_fields``
    may differ between copies of one fact (an observation that grows with time, such as
    ``days_overdue``) and are left out of the content fingerprint. Both appear in the JSON
    Schema as ``x-business-key`` and ``x-business-key-ignores``.

    Unknown fields are ignored (additive evolution); instances are immutable.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    context: ClassVar[str]
    version: ClassVar[int] = 1
    subject_field: ClassVar[str] = "customer_id"
    business_key: ClassVar[tuple[str, ...] | None] = None
    volatile_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        named = (*(cls.business_key or ()), *cls.volatile_fields)
        unknown = [name for name in named if name not in cls.model_fields]
        if unknown:
            raise TypeError(f"{cls.__name__}: business key names unknown fields {unknown}")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core_schema))
        if cls.business_key is not None:
            schema["x-business-key"] = list(cls.business_key)
        if cls.volatile_fields:
            schema["x-business-key-ignores"] = list(cls.volatile_fields)
        return schema

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

    def business_identity(self) -> str | None:
        """``<topic>|<value>|…`` of the declared business key; None when the type has none."""
        if not self.business_key:
            return None
        values = [_canonical(getattr(self, name)) for name in self.business_key]
        # An optional trailing key part that is absent is left out, so a part added to a
        # published key (additively, optional) keeps the identity of every earlier fact.
        while values and values[-1] is None:
            values.pop()
        identity = "|".join([self.topic(), *map(str, values)])
        if len(identity) <= MAX_IDENTITY_CHARS:
            return identity
        return f"{self.topic()}|h{hashlib.sha256(identity.encode()).hexdigest()}"

    def content_fingerprint(self) -> str:
        """SHA-256 of the canonical payload minus ``volatile_fields``: equal for copies of
        one fact (whatever offset their timestamps were written with), different otherwise."""
        content = self.model_dump(exclude=set(self.volatile_fields))
        canonical = json.dumps(content, sort_keys=True, default=_canonical, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

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


def _canonical(value: Any) -> Any:
    """One spelling per value: instants in UTC, everything else as JSON would write it."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):  # a calendar date (e.g. a date of birth)
        return value.isoformat()
    return value
