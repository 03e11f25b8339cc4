"""SIGTERM ends a service within its grace period even when Kafka or MongoDB is gone.

Seen under compose (issue 13): with the broker stopped before them, contacts and
offboarding ignored SIGTERM for the whole 30 s grace period and were SIGKILLed. Each
service runs here as an OS process on a dedicated local stack (its own Apache Kafka and
MongoDB-protocol server on free ports, so the session's stack is never disturbed); the
broker or the database is stopped under it, and then it gets SIGTERM.
`ServiceProcess.stop` waits the compose grace period (30 s) and SIGKILLs after it, so a
service that hangs shows up as -SIGKILL instead of the -SIGTERM uvicorn re-raises after a
clean shutdown (docs/decisions.md, decision 11).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from crm_stack import LocalStack
from tests.processes import ServiceProcess
from tests.stack_fixture import dedicated_stack
from tests.support import API_KEYS, eventually, namespace

pytestmark = pytest.mark.e2e
# The shutdown path is the runtime's, the same in every service; these two are the ones
# seen hanging under compose (the others add minutes to CI and nothing to the proof).
SERVICES = ("contacts", "offboarding")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with dedicated_stack("test-shutdown") as local:
        yield local


def service(stack: LocalStack, name: str) -> ServiceProcess:
    endpoints = stack.endpoints
    ns = namespace()
    settings: dict[str, Any] = {
        "kafka_bootstrap_servers": endpoints.kafka_bootstrap,
        "mongo_uri": endpoints.mongo_uri,
        "mongo_database": f"{name}_{ns.strip('.')}",
        "kafka_topic_prefix": ns,
        "api_keys": json.dumps(API_KEYS),
        "outbox_poll_interval_s": 0.2,
        "sweep_interval_s": 0.2,
    }
    return ServiceProcess(name, f"crm_{name}", settings)


async def not_ready(process: ServiceProcess, dependency: str) -> None:
    """Wait until the service itself reports the dependency gone (its clients noticed)."""

    async def probe() -> httpx.Response:
        async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:
            return await http.get("/readyz")

    response = await eventually(
        probe, lambda r: r.status_code == 503 and dependency in r.json()["problems"], timeout=60
    )
    assert dependency in response.json()["problems"], response.text


@contextlib.contextmanager
def frozen(stack: LocalStack, component: str) -> Iterator[None]:
    """SIGSTOP the server: its sockets stay open and accept, but nothing ever answers, the
    way a peer behaves whose container vanished from the network (no RST, just silence).
    SIGCONT afterwards, so the stack serves the next case."""
    pid = int((stack.config.state_dir / f"{component}.pid").read_text())
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


# The silent cases first: the broker-stopped cases SIGKILL the broker, and a broker
# restarted after a SIGKILL took a minute to serve a group again (log recovery).
@pytest.mark.parametrize("component", ["kafka", "mongo"])
@pytest.mark.parametrize("name", SERVICES[:1])
async def test_sigterm_with_a_silent_dependency_ends_within_the_grace_period(
    stack: LocalStack, name: str, component: str
) -> None:
    stack.up()
    process = service(stack, name)
    await process.start()
    with frozen(stack, component):
        try:
            await not_ready(process, component)
        finally:
            exit_code = process.stop()
    assert exit_code == -signal.SIGTERM, f"{name} was killed after the grace period"


@pytest.mark.parametrize("name", SERVICES)
async def test_sigterm_with_the_broker_stopped_ends_within_the_grace_period(
    stack: LocalStack, name: str
) -> None:
    stack.up()  # the previous case killed the broker: start it again on its data
    process = service(stack, name)
    await process.start()
    try:
        stack.kill_kafka()
        await not_ready(process, "kafka")
    finally:
        exit_code = process.stop()
    assert exit_code == -signal.SIGTERM, f"{name} was killed after the grace period"
