"""Bearer API keys with roles. Keys come from settings; comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from crm_runtime.settings import Role

IdempotencyKey = Annotated[
    str | None,
    Header(max_length=200, description="Retries with the same key apply the command once."),
]
_bearer = HTTPBearer(auto_error=False, description="API key issued per calling system/user.")


@dataclass(frozen=True)
class Principal:
    key_id: str  # a non-secret fingerprint of the key, safe to log
    role: Role


def _lookup(keys: Mapping[str, Role], presented: str) -> Principal | None:
    found: Principal | None = None
    for key, role in keys.items():
        if hmac.compare_digest(key.encode(), presented.encode()):
            found = Principal(key_id=hashlib.sha256(key.encode()).hexdigest()[:8], role=role)
    return found


class RoleGuard:
    """FastAPI dependency: a valid key (401 otherwise) whose role is allowed (403 otherwise).

    ``roles`` stays readable so the runtime can document 401/403 on every guarded route."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    def __call__(
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),  # noqa: B008
    ) -> Principal:
        keys: Mapping[str, Role] = request.app.state.api_keys
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer API key (Authorization: Bearer <key>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        principal = _lookup(keys, credentials.credentials)
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "unknown API key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if principal.role not in self.roles:
            names = ", ".join(sorted(r.value for r in self.roles))
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"role {principal.role.value!r} may not do this; allowed roles: {names}",
            )
        return principal


def require(*roles: Role) -> Callable[..., Principal]:
    """FastAPI dependency: a valid key (401 otherwise) whose role is allowed (403 otherwise)."""
    return RoleGuard(frozenset(roles))
