"""Session fixture `infra`: the Kafka and MongoDB the integration and e2e tests talk to.

One choice per session, in this order:

1. ``env``: ``CRM_TEST_KAFKA_BOOTSTRAP`` and ``CRM_TEST_MONGO_URI`` are both set: use them.
2. ``testcontainers``: a Docker engine answers ``docker info`` and the (optional)
   ``testcontainers`` package imports: Apache Kafka 4.4.0 (KRaft) and MongoDB 7 containers,
   stopped at the end of the session.
3. ``local``: the local stack (``crm_stack.LocalStack``) on 127.0.0.1:29092 /
   127.0.0.1:28117 with state in ``.stack/test`` (apart from a dev stack on the default
   ports): **Apache Kafka** (resolved from Maven Central, run on the JVM) wherever Java
   exists, else the Tansu stand-in; for MongoDB nx-27017 (SQLite), or mongo-java-server
   (H2, resolved from Maven Central) with ``CRM_STACK_MONGO_ENGINE=java``. Its data is
   wiped at session start; it is stopped (and wiped) at session end unless it was already running
   before the session (see ``local_infra`` for overlapping sessions).
   ``CRM_STACK_KAFKA_ENGINE=tansu`` forces the Kafka stand-in.

The session header names the broker and MongoDB server chosen.

Use as a plugin (``pytest_plugins = ["tests.stack_fixture"]``) or import ``infra`` /
``open_infra`` from it.
"""

from __future__ import annotations

import fcntl
import functools
import importlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import pytest

Backend = Literal["env", "testcontainers", "local"]

REPO_ROOT = Path(__file__).resolve().parents[1]
ENV_KAFKA = "CRM_TEST_KAFKA_BOOTSTRAP"
ENV_MONGO = "CRM_TEST_MONGO_URI"
# Overridable so that several checkouts (git worktrees) on one machine can each run the
# suite against their own stack at once.
TEST_KAFKA_PORT = int(os.environ.get("CRM_TEST_STACK_KAFKA_PORT", "29092"))
TEST_MONGO_PORT = int(os.environ.get("CRM_TEST_STACK_MONGO_PORT", "28117"))
TEST_STATE_DIR = REPO_ROOT / ".stack" / "test"
# One nx-27017 virtualenv for the dev and the test stack (installed once).
MONGO_VENV = REPO_ROOT / ".stack" / "mongo-venv"
KAFKA_VERSION = "4.4.0"  # the same release in the pom, docker-compose.yml and here
KAFKA_LIBS = REPO_ROOT / ".stack" / f"kafka-{KAFKA_VERSION}"
KAFKA_IMAGE = f"apache/kafka:{KAFKA_VERSION}"
MONGO_IMAGE = "mongo:7.0"


@dataclass(frozen=True)
class Infra:
    backend: Backend
    kafka_bootstrap: str
    mongo_uri: str
    kafka_engine: Literal["apache", "tansu"] = "apache"
    description: str = ""


def docker_available(timeout: float = 5.0) -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info"], capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def testcontainers_available() -> bool:
    def importable(name: str) -> bool:
        try:
            importlib.import_module(name)
        except ImportError:
            return False
        return True

    return importable("testcontainers.core.container") and (
        importable("testcontainers.community.mongodb") or importable("testcontainers.mongodb")
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@functools.cache
def choose_backend() -> Backend:
    kafka, mongo = os.environ.get(ENV_KAFKA), os.environ.get(ENV_MONGO)
    if kafka and mongo:
        return "env"
    if kafka or mongo:
        raise pytest.UsageError(f"set both {ENV_KAFKA} and {ENV_MONGO}, or neither")
    if docker_available() and testcontainers_available():
        return "testcontainers"
    return "local"


@contextmanager
def testcontainers_infra() -> Iterator[Infra]:
    """Apache Kafka (KRaft, single node) + MongoDB 7 in Docker.

    testcontainers' own ``KafkaContainer`` drives the Confluent image's start scripts and
    cannot run ``apache/kafka``, so Kafka is a plain container configured through the
    image's ``KAFKA_*`` variables; its client port is bound to the same host port so the
    advertised listener is right."""
    from testcontainers.core.container import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        DockerContainer,
    )
    from testcontainers.core.waiting_utils import (  # type: ignore[import-not-found,import-untyped,unused-ignore]
        wait_for_logs,
    )

    try:  # newer testcontainers releases moved the modules under `community`
        mongo_module = importlib.import_module("testcontainers.community.mongodb")
    except ImportError:
        mongo_module = importlib.import_module("testcontainers.mongodb")

    host = os.environ.get("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
    port = _free_port()
    kafka: Any = DockerContainer(KAFKA_IMAGE).with_bind_ports(port, port)
    for key, value in {
        "KAFKA_NODE_ID": "1",
        "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": f"PLAINTEXT://0.0.0.0:{port},CONTROLLER://0.0.0.0:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://{host}:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }.items():
        kafka = kafka.with_env(key, value)
    mongo: Any = mongo_module.MongoDbContainer(MONGO_IMAGE)
    with kafka, mongo:
        wait_for_logs(kafka, r"Kafka Server started", timeout=120)
        yield Infra(
            "testcontainers",
            f"{host}:{port}",
            str(mongo.get_connection_url()),
            description=f"testcontainers: {KAFKA_IMAGE} + {MONGO_IMAGE}",
        )


@contextmanager
def local_infra() -> Iterator[Infra]:
    """The local stand-in stack, shared safely by overlapping pytest sessions (several
    developers or xdist workers on one machine): every session holds a shared lock on
    `sessions.lock` while it runs. Only a session that finds no other one wipes the Mongo
    data (restarting Mongo if it was up), and only the last one out stops a stack that a
    test session started; a stack started by hand (`crm-stack up --state-dir .stack/test
    --kafka-port 29092 --mongo-port 28117`) is left running."""

    stack = _local_stack()
    TEST_STATE_DIR.mkdir(parents=True, exist_ok=True)
    ignore = TEST_STATE_DIR.parent / ".gitignore"  # .stack/ also holds the shared venv
    if not ignore.exists():
        ignore.write_text("# created by the test fixture: nothing here belongs in git\n*\n")
    owned = TEST_STATE_DIR / "started-by-tests"
    with (TEST_STATE_DIR / "sessions.lock").open("a") as sessions:
        alone = _try_lock(sessions, fcntl.LOCK_EX)
        if alone:
            if not stack.is_up():
                owned.touch()
            stack.wipe()  # a fresh broker and database every session
        else:  # another session is using the stack: join it, leave its data alone
            fcntl.flock(sessions, fcntl.LOCK_SH)
        endpoints = stack.up()
        if alone:
            fcntl.flock(sessions, fcntl.LOCK_SH)
        try:
            yield Infra(
                "local",
                endpoints.kafka_bootstrap,
                endpoints.mongo_uri,
                kafka_engine=stack.config.kafka_engine,
                description=_local_description(stack),
            )
        finally:
            if _try_lock(sessions, fcntl.LOCK_EX) and owned.exists():
                stack.down(wipe=True)  # the next session wipes it anyway: no clean stop
                owned.unlink()


def _local_stack() -> Any:
    from crm_stack import LocalStack

    return LocalStack(
        TEST_STATE_DIR,
        TEST_KAFKA_PORT,
        TEST_MONGO_PORT,
        **shared_stack_dirs(),
    )


def shared_stack_dirs() -> dict[str, Path]:
    """Server installations every test stack shares (each is installed once): the
    nx-27017 venv, the Kafka jars and the mongo-java-server jars."""
    from crm_stack.mongo_java_server import server_version

    return {
        "venv_dir": MONGO_VENV,
        "kafka_libs_dir": KAFKA_LIBS,
        "mongo_java_libs_dir": REPO_ROOT / ".stack" / f"mongo-java-server-{server_version()}",
    }


@functools.cache
def local_mongo_engine() -> Literal["nx", "java"]:
    """The MongoDB engine of the local stack: ``CRM_STACK_MONGO_ENGINE``, else nx-27017."""
    engine: Literal["nx", "java"] = _local_stack().config.mongo_engine
    return engine


def _local_description(stack: Any) -> str:
    return f"local stack: {stack.config.kafka_label} + {stack.config.mongo_label}"


@contextmanager
def dedicated_stack(name: str) -> Iterator[Any]:
    """A local stack of its own (Apache Kafka + MongoDB stand-in on free ports, state in
    `.stack/<name>`), for tests that kill or freeze servers: the session's stack is never
    disturbed. Needs a broker that keeps its data across a restart: Apache Kafka (a JVM);
    where no Java exists the stack would be Tansu (memory only), so such tests cannot run."""
    from crm_stack.kafka_broker import jvm_available

    if not jvm_available():
        pytest.skip("needs Apache Kafka (a JVM); Tansu keeps nothing across a restart")
    state = REPO_ROOT / ".stack" / name
    shutil.rmtree(state, ignore_errors=True)
    from crm_stack import LocalStack
    from tests.processes import stack_ports

    local = LocalStack(
        state, *stack_ports(), venv_dir=MONGO_VENV, kafka_engine="apache", kafka_libs_dir=KAFKA_LIBS
    )
    local.up()
    try:
        yield local
    finally:
        local.down(wipe=True)


def _try_lock(file: IO[str], mode: int) -> bool:
    try:
        fcntl.flock(file, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def open_infra() -> Iterator[Infra]:
    backend = choose_backend()
    if backend == "env":
        engine = os.environ.get("CRM_TEST_KAFKA_ENGINE", "apache")
        yield Infra(
            "env",
            os.environ[ENV_KAFKA],
            os.environ[ENV_MONGO],
            kafka_engine="tansu" if engine == "tansu" else "apache",
            description=f"configured servers ({ENV_KAFKA}, {ENV_MONGO})",
        )
    elif backend == "testcontainers":
        with testcontainers_infra() as found:
            yield found
    else:
        with local_infra() as found:
            yield found


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with open_infra() as found:
        yield found


@functools.cache
def kafka_engine() -> Literal["apache", "tansu"]:
    """The broker the chosen backend runs: Apache Kafka, except on the Tansu stand-in."""
    backend = choose_backend()
    if backend == "local":
        engine: Literal["apache", "tansu"] = _local_stack().config.kafka_engine
        return engine
    if backend == "env" and os.environ.get("CRM_TEST_KAFKA_ENGINE") == "tansu":
        return "tansu"
    return "apache"


def consumer_timeouts() -> dict[str, int]:
    """Group timeouts for test consumers: Kafka's own defaults on Apache Kafka (joins are
    quick there); short ones only on Tansu, whose group join waits half the session
    timeout (DESIGN §5)."""
    if kafka_engine() == "tansu":
        return {"session_timeout_ms": 3000, "heartbeat_interval_ms": 1000}
    return {"session_timeout_ms": 10_000, "heartbeat_interval_ms": 3000}


def service_kafka_settings() -> dict[str, object]:
    """Kafka settings for services under test that depend on the broker: the idempotent
    producer is off only on Tansu, which refuses it."""
    return {
        "kafka_session_timeout_ms": consumer_timeouts()["session_timeout_ms"],
        "kafka_idempotent_producer": kafka_engine() != "tansu",
    }


def pytest_report_header() -> str:
    backend = choose_backend()
    if backend == "local":
        return f"infra: {_local_description(_local_stack())}"
    if backend == "testcontainers":
        return f"infra: testcontainers: {KAFKA_IMAGE} + {MONGO_IMAGE}"
    return f"infra: configured servers {os.environ[ENV_KAFKA]} + {os.environ[ENV_MONGO]}"
