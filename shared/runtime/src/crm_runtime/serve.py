"""Process entry point shared by every service: one uvicorn server, graceful on SIGTERM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn

from crm_runtime.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)
# Open HTTP requests get this long after SIGTERM; then ServiceRuntime.stop has its own
# budget (shutdown.SHUTDOWN_BUDGET_S). Together they stay under the 30 s grace period.
HTTP_DRAIN_S = 5


def serve(create_app: Callable[[S], Any], settings: S) -> None:
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=HTTP_DRAIN_S,
    )
