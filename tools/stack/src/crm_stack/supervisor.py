"""Keeps the services of `crm-stack run` running, as compose's `restart: unless-stopped`.

A service that exits is named with its exit status (or the signal that ended it) and
restarted after a back-off that doubles per consecutive crash (1 s … 30 s) and resets once
it has stayed up for a minute; the others keep running. Stopping stops all of them.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from crm_stack.services import RunningService, spawn

INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


@dataclass
class _State:
    started_at: float
    crashes: int = 0
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        services: list[RunningService],
        report: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.services = services
        self._report = report
        self._clock = clock
        now = clock()
        self._state = {s.name: _State(started_at=now) for s in services}
        self.restarts: dict[str, int] = {s.name: 0 for s in services}

    def backoff_s(self, crashes: int) -> float:
        return float(min(INITIAL_BACKOFF_S * 2 ** max(crashes - 1, 0), MAX_BACKOFF_S))

    def check(self) -> None:
        """One supervision round: notice exits, restart those whose back-off has passed."""
        now = self._clock()
        for service in self.services:
            state = self._state[service.name]
            code = service.process.poll()
            if code is None:
                if now - state.started_at >= STABLE_AFTER_S:
                    state.crashes = 0
                continue
            if state.restart_at is None:
                state.crashes += 1
                delay = self.backoff_s(state.crashes)
                state.restart_at = now + delay
                self._report(
                    f"{service.name} (pid {service.process.pid}) died: {describe_exit(code)}; "
                    f"restarting in {delay:.0f} s (log: {service.log_file})"
                )
            elif now >= state.restart_at:
                self._restart(service, state, now)

    def _restart(self, service: RunningService, state: _State, now: float) -> None:
        service.process = spawn(service.name, service.port, service.env, service.log_file)
        state.started_at, state.restart_at = now, None
        self.restarts[service.name] += 1
        self._report(f"{service.name} restarted (pid {service.process.pid})")
