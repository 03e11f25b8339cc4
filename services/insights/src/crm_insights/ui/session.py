"""The UI's sign-in: an API key, checked against the service's keys, becomes a signed,
HTTP-only, Secure, SameSite=Strict session cookie. The cookie carries the role, an expiry
and a fingerprint of the key (never the key): revoking the key ends its sessions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping

from crm_runtime.settings import Role

COOKIE = "crm_session"
LANG_COOKIE = "crm_lang"


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def issue(key: str, role: str, secret: bytes, lifetime_s: int, now: float | None = None) -> str:
    expires = int((now or time.time()) + lifetime_s)
    body = f"{role}|{expires}|{fingerprint(key)}"
    signature = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    return base64.urlsafe_b64encode(f"{body}|{signature}".encode()).decode()


def verify(
    cookie: str | None, keys: Mapping[str, str], secret: bytes, now: float | None = None
) -> Role | None:
    """The session's role, or None when the cookie is absent, forged, expired or its key
    is no longer configured."""
    if not cookie:
        return None
    try:
        role, expires, print_, signature = (
            base64.urlsafe_b64decode(cookie.encode()).decode().split("|")
        )
        body = f"{role}|{expires}|{print_}"
        expected = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected) or int(expires) < (now or time.time()):
            return None
    except (ValueError, UnicodeDecodeError):
        return None
    current = {fingerprint(k): r for k, r in keys.items()}
    return Role(role) if current.get(print_) == role else None
