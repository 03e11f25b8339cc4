"""Liveness and readiness: readiness needs Kafka, MongoDB and running consumers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Health:
    """Components report problems here; /readyz is ready only when none is degraded."""

    started: bool = False
    stopping: bool = False
    degraded: dict[str, str] = field(default_factory=dict)

    def fail(self, component: str, reason: str) -> None:
        self.degraded[component] = reason

    def recover(self, component: str) -> None:
        self.degraded.pop(component, None)

    @property
    def ready(self) -> bool:
        return self.started and not self.stopping and not self.degraded
