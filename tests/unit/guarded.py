"""Unit-test stand-ins for the consumer side of ``ServiceRuntime``: handlers registered by a
service's own ``register_handlers`` run behind the real business-key guard, over an
in-memory key store, and deliveries end the way the consumer would end them."""

from __future__ import annotations

from typing import Any

from crm_events import REGISTRY, CloudEvent, EventData
from crm_events.examples import load_golden
from crm_runtime.business_keys import BusinessKeyGuard, GuardedHandler
from crm_runtime.clock import Clock
from crm_runtime.errors import DomainError, MissingPrerequisite
from tests.store_memory import InMemoryBusinessKeys


class GuardedRuntime:
    """Takes ``runtime.on(...)`` registrations as ``ServiceRuntime.on`` does."""

    def __init__(self, clock: Clock) -> None:
        self.keys = InMemoryBusinessKeys()
        self.guard = BusinessKeyGuard(self.keys, clock)
        self.handlers: dict[type[EventData], GuardedHandler] = {}

    def on(self, model: type[EventData], handler: Any, *, aggregate: Any = None) -> None:
        """``aggregate`` (what a poll prefetches) does not matter one event at a time."""
        self.handlers[model] = self.guard.wrap(model, handler)

    def reads(self, model: type[EventData], aggregate: Any) -> None:
        """Prefetch declarations do not matter one event at a time."""

    def sweep(self, *args: Any) -> None:
        """Timers are not under test here."""

    async def deliver(self, event: CloudEvent) -> str:
        """``applied``/``duplicate``/``parked``, or ``dlq:<kind>: <reason>``."""
        data = REGISTRY.parse(event)
        try:
            applied = await self.handlers[type(data)](data, event)
        except DomainError as exc:
            return f"dlq:{exc.dlq_kind}: {exc.reason}"
        except MissingPrerequisite:
            return "parked"
        return "applied" if applied else "duplicate"


def event_of(model: type[EventData], event_id: str, **changes: Any) -> CloudEvent:
    """The golden example of ``model`` under ``event_id``, its payload changed by ``changes``."""
    golden = load_golden(model)
    data = model.model_validate({**golden.data, **changes})
    return golden.model_copy(
        update={"id": event_id, "subject": data.subject, "data": data.model_dump(mode="json")}
    )
