"""Run the four CRM services as child processes against the local stack (`crm-stack run`).

Each service gets its own settings through its own env prefix, exactly as in production.
Only the Tansu stand-in needs its own: a short group session timeout (its group join
waits half of it) and no idempotent producer (it refuses one) — DESIGN §5.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from crm_stack.config import KafkaEngine, StackEndpoints

SERVICES = {
    "contacts": 8001,
    "feedback": 8002,
    "loyalty": 8003,
    "offboarding": 8004,
    "insights": 8005,
}


@dataclass
class RunningService:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def api_keys(state_dir: Path) -> dict[str, str]:
    """Local API keys (one per role), created once and kept in the state dir (gitignored)."""
    path = state_dir / "api-keys.json"
    if path.exists():
        keys: dict[str, str] = json.loads(path.read_text())
        return keys
    keys = {f"dev-{role}-{secrets.token_hex(8)}": role for role in ("agent", "manager", "system")}
    path.write_text(json.dumps(keys, indent=2) + "\n")
    path.chmod(0o600)
    return keys


def service_env(
    name: str,
    port: int,
    endpoints: StackEndpoints,
    keys: dict[str, str],
    engine: KafkaEngine = "apache",
) -> dict[str, str]:
    prefix = f"CRM_{name.upper()}_"
    settings = {
        "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap,
        "MONGO_URI": endpoints.mongo_uri,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(port),
        "API_KEYS": json.dumps(keys),
    }
    if engine == "tansu":
        settings |= {"KAFKA_SESSION_TIMEOUT_MS": "3000", "KAFKA_IDEMPOTENT_PRODUCER": "false"}
    else:
        # One instance per service here: a static member name lets a service that the
        # supervisor restarts take its partitions back at once, instead of waiting out the
        # dead member's session timeout (KIP-345).
        settings["KAFKA_GROUP_INSTANCE_ID"] = f"{name}-local"
    return {**os.environ, **{prefix + key: value for key, value in settings.items()}}


def spawn(name: str, port: int, env: dict[str, str], log_file: Path) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-m", f"crm_{name}"], env=env, stdout=log, stderr=subprocess.STDOUT
        )


def start_all(
    endpoints: StackEndpoints, state_dir: Path, engine: KafkaEngine = "apache"
) -> list[RunningService]:
    keys = api_keys(state_dir)
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    running = []
    for name, port in SERVICES.items():
        log_file = logs / f"{name}.log"
        env = service_env(name, port, endpoints, keys, engine)
        running.append(RunningService(name, port, spawn(name, port, env, log_file), log_file, env))
    return running


def wait_ready(services: list[RunningService], timeout_s: float = 90.0) -> list[str]:
    """Names of the services not ready in time (empty when all answer /readyz with 200)."""
    deadline = time.monotonic() + timeout_s
    pending = {s.name: s for s in services}
    while pending and time.monotonic() < deadline:
        for name, service in list(pending.items()):
            if service.process.poll() is not None:
                continue
            try:
                with urllib.request.urlopen(service.url + "/readyz", timeout=2):  # noqa: S310
                    pending.pop(name)
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.3)
    return sorted(pending)


def stop_all(services: list[RunningService]) -> None:
    """Graceful: SIGTERM lets each finish its in-flight batch and flush its outbox."""
    for service in services:
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGTERM)
    for service in services:
        try:
            service.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            service.process.kill()
