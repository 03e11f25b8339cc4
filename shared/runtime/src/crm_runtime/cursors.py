"""Opaque page cursors for newest-first lists keyed by (time, id): the timeline in contacts,
the journey in insights. A forged cursor is a value like any other: it decodes to a
moment in the range every timestamp has, or it is refused with a reason (HTTP 422)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from crm_events.bounds import utc_in_range
from crm_runtime.errors import DomainError


def encode_time_cursor(at: datetime, entry_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{entry_id}".encode()).decode()


def decode_time_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    try:
        at, _, entry_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive cursor time")
        return utc_in_range(moment), entry_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise DomainError("invalid cursor") from None
