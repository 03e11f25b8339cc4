"""Where the local stack keeps its state and which ports it listens on."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HOST = "127.0.0.1"
DEFAULT_KAFKA_PORT = 19092
DEFAULT_MONGO_PORT = 27117
ENV_STATE_DIR = "CRM_STACK_DIR"
ENV_KAFKA_PORT = "CRM_STACK_KAFKA_PORT"
ENV_MONGO_PORT = "CRM_STACK_MONGO_PORT"
ENV_MONGO_VENV = "CRM_STACK_MONGO_VENV"
ENV_KAFKA_ENGINE = "CRM_STACK_KAFKA_ENGINE"
ENV_KAFKA_LIBS = "CRM_STACK_KAFKA_LIBS"
ENV_MONGO_ENGINE = "CRM_STACK_MONGO_ENGINE"
ENV_MONGO_JAVA_LIBS = "CRM_STACK_MONGO_JAVA_LIBS"
KafkaEngine = Literal["apache", "tansu"]
ENGINES: tuple[KafkaEngine, ...] = ("apache", "tansu")
# nx: nx-27017 on SQLite (Python, own venv); java: mongo-java-server on H2 (Maven, JVM).
MongoEngine = Literal["nx", "java"]
MONGO_ENGINES: tuple[MongoEngine, ...] = ("nx", "java")
DEFAULT_MONGO_ENGINE: MongoEngine = "nx"
PORTS_FILE = "ports.json"


class StackError(RuntimeError):
    """The local stack could not be started, stopped or inspected."""


@dataclass(frozen=True)
class StackEndpoints:
    kafka_bootstrap: str
    mongo_uri: str
    started: tuple[str, ...] = ()
    reused: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    port: int
    pid: int | None
    alive: bool
    listening: bool
    log_file: Path

    @property
    def up(self) -> bool:
        return self.alive and self.listening


def find_repo_root(start: Path | None = None) -> Path | None:
    """The nearest directory holding `.git`, searched upwards from `start` (default: the
    working directory), then from this package's own location (editable installs)."""
    for base in (start or Path.cwd(), Path(__file__).resolve().parent):
        for candidate in (base, *base.parents):
            if (candidate / ".git").exists():
                return candidate
    return None


def default_state_dir() -> Path:
    """`$CRM_STACK_DIR`, else `<repo root>/.stack`, else `./.stack`."""
    env = os.environ.get(ENV_STATE_DIR)
    if env:
        return Path(env).expanduser().resolve()
    root = find_repo_root()
    return (root or Path.cwd()).resolve() / ".stack"


def _check_port(port: int, what: str) -> int:
    if not 0 < port < 65536:
        raise StackError(f"{what}: port {port} is outside 1..65535")
    return port


def _env_port(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return _check_port(int(raw), name)
    except ValueError:
        raise StackError(f"{name}={raw!r} is not a port number") from None


def _read_recorded(state_dir: Path) -> dict[str, object]:
    try:
        data = json.loads((state_dir / PORTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_recorded_ports(state_dir: Path) -> dict[str, int]:
    """Ports recorded by the last `up` in this state dir (empty when none)."""
    data = _read_recorded(state_dir)
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, int)}


def _engine(raw: str | None) -> KafkaEngine | None:
    """`apache`, `tansu`, or None for `auto`/unset (Apache Kafka wherever Java exists)."""
    value = (raw or "").strip().lower()
    if value in ("", "auto"):
        return None
    for engine in ENGINES:
        if value == engine:
            return engine
    raise StackError(f"{ENV_KAFKA_ENGINE}={raw!r}: choose apache, tansu or auto")


def resolve_engine(explicit: str | None, state_dir: Path) -> KafkaEngine:
    """Explicit choice, else the environment, else what a running stack in the same
    state dir was started with, else Apache Kafka when a JVM exists, else Tansu."""
    from crm_stack.kafka_broker import jvm_available  # avoid an import cycle

    recorded = _read_recorded(state_dir).get("engine")
    chosen = _engine(explicit) or _engine(os.environ.get(ENV_KAFKA_ENGINE))
    if chosen is None and isinstance(recorded, str):
        chosen = _engine(recorded)
    return chosen or ("apache" if jvm_available() else "tansu")


def pick_mongo_engine(explicit: str | None, env: str | None, recorded: object) -> MongoEngine:
    """Explicit choice, else the environment, else what a running stack in the same state
    dir was started with, else the default (nx-27017; see docs/decisions.md, issue 14)."""
    for source, raw in (("--mongo-engine", explicit), (ENV_MONGO_ENGINE, env)):
        value = (raw or "").strip().lower()
        if value in ("", "auto"):
            continue
        for engine in MONGO_ENGINES:
            if value == engine:
                return engine
        raise StackError(f"{source}={raw!r}: choose nx, java or auto")
    for engine in MONGO_ENGINES:
        if recorded == engine:
            return engine
    return DEFAULT_MONGO_ENGINE


@dataclass(frozen=True)
class StackConfig:
    """Resolved settings of one local stack (one state dir)."""

    state_dir: Path
    kafka_port: int
    mongo_port: int
    venv_dir: Path
    kafka_engine: KafkaEngine = "tansu"
    kafka_libs_dir: Path | None = None
    mongo_engine: MongoEngine = DEFAULT_MONGO_ENGINE
    mongo_java_libs_dir: Path | None = None
    host: str = HOST

    @classmethod
    def resolve(
        cls,
        state_dir: Path | str | None = None,
        kafka_port: int | None = None,
        mongo_port: int | None = None,
        venv_dir: Path | str | None = None,
        kafka_engine: str | None = None,
        kafka_libs_dir: Path | str | None = None,
        mongo_engine: str | None = None,
        mongo_java_libs_dir: Path | str | None = None,
    ) -> StackConfig:
        """Explicit argument, else environment, else the ports recorded by a running
        stack in the same state dir, else the defaults (venv: `<state_dir>/mongo-venv`,
        Kafka libraries: `<state_dir>/kafka-<version>`, mongo-java-server libraries:
        `<state_dir>/mongo-java-server-<version>`)."""
        from crm_stack.kafka_broker import kafka_version
        from crm_stack.mongo_java_server import server_version

        sd = Path(state_dir).expanduser().resolve() if state_dir else default_state_dir()
        recorded = read_recorded_ports(sd)
        kafka = kafka_port or _env_port(ENV_KAFKA_PORT) or recorded.get("kafka")
        mongo = mongo_port or _env_port(ENV_MONGO_PORT) or recorded.get("mongo")
        venv_raw = venv_dir or os.environ.get(ENV_MONGO_VENV)
        venv = Path(venv_raw).expanduser().resolve() if venv_raw else sd / "mongo-venv"
        libs_raw = kafka_libs_dir or os.environ.get(ENV_KAFKA_LIBS)
        libs = Path(libs_raw) if libs_raw else sd / f"kafka-{kafka_version()}"
        java_raw = mongo_java_libs_dir or os.environ.get(ENV_MONGO_JAVA_LIBS)
        java_libs = Path(java_raw) if java_raw else sd / f"mongo-java-server-{server_version()}"
        recorded_engine = _read_recorded(sd).get("mongo_engine")
        return cls(
            state_dir=sd,
            kafka_port=_check_port(kafka or DEFAULT_KAFKA_PORT, "kafka"),
            mongo_port=_check_port(mongo or DEFAULT_MONGO_PORT, "mongo"),
            venv_dir=venv,
            kafka_engine=resolve_engine(kafka_engine, sd),
            kafka_libs_dir=libs.expanduser().resolve(),
            mongo_engine=pick_mongo_engine(
                mongo_engine, os.environ.get(ENV_MONGO_ENGINE), recorded_engine
            ),
            mongo_java_libs_dir=java_libs.expanduser().resolve(),
        )

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def mongo_uri(self) -> str:
        return f"mongodb://{self.host}:{self.mongo_port}/?directConnection=true"

    @property
    def controller_port(self) -> int:
        """The KRaft controller listener of the Apache Kafka broker: the next port."""
        return self.kafka_port + 1

    @property
    def mongo_data_dir(self) -> Path:
        """nx-27017: one SQLite file per database here; java: the one MVStore file."""
        return self.mongo_data_dirs[self.mongo_engine]

    @property
    def mongo_data_dirs(self) -> dict[MongoEngine, Path]:
        """Each engine's data dir in this state dir (a wipe deletes them all)."""
        return {"nx": self.state_dir / "mongo-data", "java": self.state_dir / "mongo-java-data"}

    @property
    def logs_dir(self) -> Path:
        """Every log of the stack: servers, installs, and the services of `crm-stack run`."""
        path = self.state_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def kafka_data_dir(self) -> Path:
        return self.state_dir / "kafka-data"

    @property
    def kafka_label(self) -> str:
        if self.kafka_engine == "apache":
            from crm_stack.kafka_broker import kafka_version

            return f"Apache Kafka {kafka_version()}"
        return "Tansu (Kafka-protocol stand-in)"

    @property
    def mongo_label(self) -> str:
        if self.mongo_engine == "java":
            from crm_stack.mongo_java_server import label

            return label()
        return "nx-27017 (MongoDB-protocol stand-in on SQLite)"

    def record_ports(self) -> None:
        payload = {
            "kafka": self.kafka_port,
            "mongo": self.mongo_port,
            "engine": self.kafka_engine,
            "mongo_engine": self.mongo_engine,
        }
        (self.state_dir / PORTS_FILE).write_text(json.dumps(payload) + "\n")

    def forget_ports(self) -> None:
        (self.state_dir / PORTS_FILE).unlink(missing_ok=True)
