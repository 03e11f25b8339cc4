"""MongoDB helpers for exactly-once effects with single-document atomic updates.

Only the portable subset of DESIGN §5 is used: string ids, maps instead of arrays of
sub-documents, ``$exists`` guards on map paths, ``$set``/``$unset``/``$inc``, unique ``_id``s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    WTimeoutError,
)

from crm_events import REGISTRY, CloudEvent
from crm_runtime.keys import map_key
from crm_runtime.timestamps import stamp

OUTBOX = "outbox"
OUTBOX_PENDING = "outbox_pending"
OUTBOX_REV = "outbox_rev"
APPLIED = "applied"

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    AutoReconnect,
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    ServerSelectionTimeoutError,
    WTimeoutError,
)


def is_duplicate_key(exc: BaseException) -> bool:
    return isinstance(exc, DuplicateKeyError)


def not_yet_applied(event_id: str) -> dict[str, Any]:
    """Filter fragment: the document has not recorded this event yet."""
    return {f"{APPLIED}.{map_key(event_id)}": {"$exists": False}}


class Mutation:
    """Collects one atomic update: state changes, the applied-marker and outbox entries."""

    def __init__(self) -> None:
        self.set: dict[str, Any] = {}
        self.inc: dict[str, int] = {}
        self.unset: dict[str, str] = {}
        self.add_to_set: dict[str, Any] = {}

    def mark_applied(self, event_id: str, at: datetime) -> Mutation:
        self.set[f"{APPLIED}.{map_key(event_id)}"] = stamp(at)
        return self

    def publish(self, events: Iterable[CloudEvent]) -> Mutation:
        """Store derived events in the same write; the relay publishes and removes them."""
        count = 0
        for position, event in enumerate(events):
            self.set[f"{OUTBOX}.{map_key(event.id)}"] = outbox_entry(event, position)
            count += 1
        if count:
            self.set[OUTBOX_PENDING] = 1
            self.inc[OUTBOX_REV] = self.inc.get(OUTBOX_REV, 0) + 1
        return self

    def to_update(self) -> dict[str, Any]:
        update: dict[str, Any] = {}
        for op, fields in (
            ("$set", self.set),
            ("$inc", self.inc),
            ("$unset", self.unset),
            ("$addToSet", self.add_to_set),
        ):
            if fields:
                update[op] = fields
        return update


def outbox_entry(event: CloudEvent, position: int = 0) -> dict[str, Any]:
    """``seq`` keeps the order of events stored by one write (a breach before its
    escalation) even when they carry the same time."""
    return {
        "topic": topic_of(event),
        "key": event.subject,
        "value": event.to_bytes().decode(),
        "time": stamp(event.time),
        "seq": position,
    }


def topic_of(event: CloudEvent) -> str:
    return REGISTRY.for_type(event.type).topic()


def outbox_document(doc: dict[str, Any], events: Iterable[CloudEvent]) -> dict[str, Any]:
    """A new document (for insert) carrying its own derived events."""
    mutation = Mutation().publish(events)
    return {**doc, **_expand(mutation.set), **mutation.inc}


def _expand(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        head, _, rest = path.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            nested[head] = value
    return nested


class CommandCounter(monitoring.CommandListener):
    """Counts the commands a client sends, by command and collection: the round trips the
    service pays per event (``crm_mongo_commands_total``). Kept cheap: one dict lookup and
    one increment per command; the labelled child is created once per pair."""

    def __init__(self, counter: Callable[..., Any]) -> None:
        self._labels = counter
        self._children: dict[tuple[str, str], Any] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        target = event.command.get(name)
        key = (name, target if isinstance(target, str) else "")
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self._labels(command=key[0], collection=key[1])
        child.inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


def connect(
    uri: str,
    *,
    timeout_ms: int,
    app_name: str,
    listeners: Sequence[monitoring.CommandListener] = (),
) -> AsyncMongoClient[dict[str, Any]]:
    """A client that connects lazily (no I/O here) and fails fast when the server is gone."""
    return AsyncMongoClient(
        uri,
        appname=app_name,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=max(timeout_ms * 2, 10_000),
        tz_aware=True,
        uuidRepresentation="standard",
        event_listeners=list(listeners),
    )
