"""Domain outcomes the runtime maps onto HTTP statuses and the dead-letter queue."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request or event the domain refuses; never retried."""

    http_status = 422
    dlq_kind = "rejected"  # the ``dlq-kind`` header when a consumed event is refused

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        # Extra JSON fields for the HTTP body, e.g. the allowed next steps of a 409.
        self.details = details


class NotFound(DomainError):
    http_status = 404


class Conflict(DomainError):
    http_status = 409


class Unprocessable(DomainError):
    """A consumed event that can never be applied (goes to the DLQ with this reason)."""

    http_status = 422


class MissingPrerequisite(Exception):
    """The event refers to something not seen yet (events on other topics may arrive out of
    order). The runtime parks it and retries until the park grace period ends, then DLQs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
