"""Event ids for HTTP commands: a client's Idempotency-Key makes a retry the same event."""

from __future__ import annotations

from crm_events import deterministic_event_id, new_event_id


def command_event_id(source: str, command: str, subject: str, key: str | None) -> str:
    """Deterministic from (service, command, subject, key) when a key is given, else fresh.

    Scoped by subject (customer, complaint, case…), so the same key sent for two different
    subjects stays two commands.
    """
    if key:
        return deterministic_event_id(source, command, subject, key)
    return new_event_id()
