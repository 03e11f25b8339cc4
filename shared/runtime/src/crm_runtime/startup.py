"""Start-up retries: dependencies may come up after the service (compose, k8s)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from crm_runtime.logging import get_logger

log = get_logger(__name__)


async def retry_until(
    action: Callable[[], Awaitable[Any]],
    *,
    what: str,
    timeout_s: float = 60.0,
    initial_s: float = 0.2,
    maximum_s: float = 5.0,
) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    delay = initial_s
    while True:
        try:
            return await action()
        except Exception as exc:
            if loop.time() + delay > deadline:
                raise
            log.warning("startup_retry", what=what, error=type(exc).__name__, delay_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, maximum_s)
