"""structlog JSON logging. Never pass personal data (names, e-mails, free text) to a logger."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

import structlog

MESSAGE_FIELDS = ("topic", "partition", "offset", "event_id", "event_type", "correlation_id")


def configure_logging(*, level: str = "INFO", json: bool = True, service: str = "crm") -> None:
    """Route structlog and stdlib logging (uvicorn, aiokafka, faststream) to one stream."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        # Level filter first: a discarded debug call then costs ~3 µs instead of ~10 µs.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "faststream", "pymongo", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


@contextlib.contextmanager
def record_context(record: Any) -> Iterator[None]:
    """Bind a consumed record's coordinates to every log line while it is handled."""
    structlog.contextvars.bind_contextvars(
        topic=record.topic, partition=record.partition, offset=record.offset
    )
    try:
        yield
    finally:
        structlog.contextvars.unbind_contextvars(*MESSAGE_FIELDS)
