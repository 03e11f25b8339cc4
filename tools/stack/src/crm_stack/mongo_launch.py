"""How each MongoDB engine of the local stack is prepared and launched.

`prepare` installs or resolves the engine's server once (nx-27017: its own venv;
java: mongo-java-server with Maven) and returns a `Launch`: the argv, where its output
goes and how to tell it answers. `LocalStack` spawns it, tracks its PID and waits.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from crm_stack import mongo_java_server
from crm_stack.config import StackConfig
from crm_stack.mongo_venv import (
    PINS,
    clean_env,
    ensure_mongo_venv,
    is_installed,
    mongo_answers,
    nx_binary,
)


@dataclass(frozen=True)
class Launch:
    cmd: list[str]
    env: dict[str, str]
    output: Path  # stdout/stderr of the process
    answers: Callable[[], bool]
    # nx-27017 writes its PID file itself (and refuses to start if it names a live
    # process), so the stack must not write it first.
    writes_pid_file: bool = False


def prepare(
    cfg: StackConfig, log_file: Path, pid_file: Path, progress: Callable[[str], None]
) -> Launch:
    cfg.mongo_data_dir.mkdir(parents=True, exist_ok=True)
    log_file.write_bytes(b"")
    if cfg.mongo_engine == "java":
        return _prepare_java(cfg, log_file, progress)
    return _prepare_nx(cfg, log_file, pid_file, progress)


def _prepare_java(cfg: StackConfig, log_file: Path, progress: Callable[[str], None]) -> Launch:
    libs = cfg.mongo_java_libs_dir
    assert libs is not None  # StackConfig.resolve() always sets it
    if not mongo_java_server.libs_ready(libs):
        version = mongo_java_server.server_version()
        progress(f"resolving mongo-java-server {version} with Maven into {libs} (first run only)")
    mongo_java_server.ensure_libs(libs, cfg.logs_dir / "mongo-maven.log")
    data = cfg.mongo_data_dir / mongo_java_server.DATA_FILE
    return Launch(
        cmd=mongo_java_server.command(libs, cfg.host, cfg.mongo_port, data),
        env=dict(os.environ),
        output=log_file,
        answers=lambda: mongo_java_server.answers(cfg.host, cfg.mongo_port),
    )


def _prepare_nx(
    cfg: StackConfig, log_file: Path, pid_file: Path, progress: Callable[[str], None]
) -> Launch:
    if not is_installed(cfg.venv_dir):
        progress(f"installing {' '.join(PINS)} into {cfg.venv_dir} (first run only)")
    ensure_mongo_venv(cfg.venv_dir, cfg.logs_dir / "mongo-venv-install.log")
    console = cfg.logs_dir / "mongo.console.log"
    console.write_bytes(b"")
    cmd = [str(nx_binary(cfg.venv_dir)), "--data-dir", str(cfg.mongo_data_dir)]
    cmd += ["--host", cfg.host, "-p", str(cfg.mongo_port)]
    cmd += ["--pid-file", str(pid_file), "--log-file", str(log_file)]
    return Launch(
        cmd=cmd,
        env=clean_env(),
        output=console,
        answers=lambda: mongo_answers(cfg.venv_dir, cfg.mongo_uri),
        writes_pid_file=True,
    )
