"""Shutdown steps with deadlines: one budget for ``ServiceRuntime.stop``, each step run for
at most its own deadline and abandoned (not awaited) when it overruns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from crm_runtime.logging import get_logger
from crm_runtime.outbox import OutboxRelay

log = get_logger(__name__)
# ServiceRuntime.stop's budget: with uvicorn's HTTP drain (serve.HTTP_DRAIN_S) it stays
# under the 30 s grace period orchestrators give before SIGKILL.
SHUTDOWN_BUDGET_S = 20.0
# Shutdown steps that overran, cancelled and no longer awaited (kept referenced).
_ABANDONED: set[asyncio.Future[Any]] = set()


async def step(what: str, action: Awaitable[Any], timeout: float) -> None:
    """Run one shutdown step for at most ``timeout`` seconds.

    Unlike ``asyncio.wait_for``, an overrunning step is cancelled and then left behind, not
    awaited: a client that swallows the cancellation or shields its own clean-up (a Kafka
    client closing connections to a broker that no longer answers) cannot hold shutdown up.
    """
    task = asyncio.ensure_future(action)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        task.cancel()
        _ABANDONED.add(task)
        task.add_done_callback(_ABANDONED.discard)
        log.warning("shutdown_step_failed", step=what, error="TimeoutError", timeout_s=timeout)
        return
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("shutdown_step_failed", step=what, error=type(exc).__name__)


async def drain_outbox(relay: OutboxRelay) -> None:
    while await relay.flush():
        pass
