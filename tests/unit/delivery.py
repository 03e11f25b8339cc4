"""Hand one CloudEvent to a service's registered handler, as the consumer would, and name
the outcome the consumer would count — shared by the services' unit-test plugins."""

from __future__ import annotations

from typing import Any

from crm_events import REGISTRY, CloudEvent
from crm_runtime.errors import DomainError, MissingPrerequisite


async def deliver(runtime: Any, event: CloudEvent) -> str:
    """``applied``/``duplicate``/``parked``, or ``dlq:<kind>: <reason>``."""
    data = REGISTRY.parse(event)
    try:
        applied = await runtime.consumer.handlers[type(data)](data, event)
    except DomainError as exc:
        return f"dlq:{exc.dlq_kind}: {exc.reason}"
    except MissingPrerequisite:
        return "parked"
    return "applied" if applied else "duplicate"
