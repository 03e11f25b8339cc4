"""Map keys for ids (pure: usable by domain code that must not import pymongo)."""

from __future__ import annotations

import hashlib
import re

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def map_key(event_id: str) -> str:
    """A map key for an event id: ids with '.', '$' or odd characters are hashed."""
    if _SAFE_KEY.match(event_id):
        return event_id
    return "h" + hashlib.sha256(event_id.encode()).hexdigest()[:40]
