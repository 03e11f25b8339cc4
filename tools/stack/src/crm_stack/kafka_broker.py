"""The Apache Kafka broker of the local stack: resolved from Maven Central, run on a JVM.

`ensure_libs` copies the pinned broker and its runtime dependencies into one folder with
Maven (`dependency:copy-dependencies` on the committed `kafka/pom.xml`), once per Kafka
version; `ensure_formatted` formats KRaft storage for one combined broker+controller node
(only when the data folder has none, so data survives a restart); `command` is the argv
that runs `kafka.Kafka` with a bounded heap on loopback listeners.
"""

from __future__ import annotations

import base64
import importlib.resources
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from crm_stack import maven
from crm_stack.config import StackError

_PACKAGE_DIR = Path(str(importlib.resources.files("crm_stack") / "kafka"))
POM = _PACKAGE_DIR / "pom.xml"
LOG4J_CONFIG = _PACKAGE_DIR / "log4j2.properties"
MAIN_CLASS = "kafka.Kafka"
HEAP = ("-Xms256m", "-Xmx768m")


def kafka_version() -> str:
    """The Kafka release pinned in the committed pom.xml."""
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if found is None:
        raise StackError(f"no <kafka.version> in {POM}")
    return found.group(1)


def jvm_available() -> bool:
    """Java present: the local stack runs Apache Kafka (Maven resolves it once)."""
    return shutil.which("java") is not None


@dataclass(frozen=True)
class BrokerLayout:
    """Where one broker keeps its libraries, configuration and data."""

    libs_dir: Path
    data_dir: Path
    config_file: Path
    host: str
    port: int
    controller_port: int

    @property
    def classpath(self) -> str:
        return f"{self.libs_dir}/*"


def libs_ready(libs_dir: Path) -> bool:
    return maven.libs_ready(libs_dir)


def ensure_libs(libs_dir: Path, log_file: Path) -> None:
    """Resolve the broker into `libs_dir` with Maven, unless a previous run did."""
    maven.copy_dependencies(
        POM,
        libs_dir,
        log_file,
        expect="kafka_2.13-*.jar",
        what="the Apache Kafka broker",
        version=kafka_version(),
    )


def server_properties(layout: BrokerLayout) -> str:
    host, port, cport = layout.host, layout.port, layout.controller_port
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{cport}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(layout.data_dir),
        # One node: internal topics cannot be replicated further.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Topics are provisioned explicitly by every service, as in production.
        "auto.create.topics.enable": "false",
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
        "num.partitions": "4",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _cluster_id() -> str:
    """A KRaft cluster id as Kafka's own `random-uuid` makes it: URL-safe base64 of 16
    random bytes, never starting with '-' (it would read as a command-line option)."""
    while True:
        found = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not found.startswith("-"):
            return found


def java_command(layout: BrokerLayout, main: str, *args: str) -> list[str]:
    java = shutil.which("java") or "java"
    return [
        java,
        *HEAP,
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        layout.classpath,
        main,
        *args,
    ]


def ensure_formatted(layout: BrokerLayout, log_file: Path) -> None:
    """Write the configuration; format KRaft storage only if it was never formatted."""
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    layout.config_file.write_text(server_properties(layout))
    if (layout.data_dir / "meta.properties").is_file():
        return
    cmd = java_command(layout, "kafka.tools.StorageTool", "format")
    cmd += ["-t", _cluster_id(), "-c", str(layout.config_file)]
    with log_file.open("ab") as log:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=120
        )
    if result.returncode != 0:
        raise StackError(f"formatting Kafka storage failed; see {log_file}")


def command(layout: BrokerLayout) -> list[str]:
    return java_command(layout, MAIN_CLASS, str(layout.config_file))
