"""Run services as separate OS processes, the way an operator would."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

LOG_DIR = Path(__file__).resolve().parents[1] / ".stack" / "test" / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def stack_ports() -> tuple[int, int]:
    """Free ports for a dedicated local stack: Kafka (its controller takes the next port
    too) and MongoDB. Chosen below the kernel's ephemeral range, where busy test traffic
    cannot take a port as the local end of an outgoing connection between the check and
    the servers' bind (it did, at 60746)."""
    low, high = 20_000, 32_000
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    if ephemeral.exists():
        high = min(high, int(ephemeral.read_text().split()[0]) - 2)
    rng = random.Random()
    for _ in range(500):
        kafka, mongo = rng.randrange(low, high), rng.randrange(low, high)
        if abs(kafka - mongo) > 1 and all(map(_bindable, (kafka, kafka + 1, mongo))):
            return kafka, mongo
    raise RuntimeError("no free ports for a dedicated stack")


class ServiceProcess:
    """``python -m <module>`` with settings from the environment (prefix ``CRM_<NAME>_``)."""

    def __init__(self, name: str, module: str, settings: dict[str, Any]) -> None:
        self.name = name
        self.module = module
        self.port = free_port()
        prefix = f"CRM_{name.upper()}_"
        self.env = {**os.environ, **{prefix + k.upper(): str(v) for k, v in settings.items()}}
        self.env[prefix + "HTTP_PORT"] = str(self.port)
        self.env[prefix + "HTTP_HOST"] = "127.0.0.1"
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self, *, timeout: float = 60.0) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, not awaited
            [sys.executable, "-m", self.module], env=self.env, stdout=log, stderr=log
        )
        await self.wait_ready(timeout)

    async def wait_ready(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient() as client:
            while asyncio.get_running_loop().time() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
                try:
                    if (await client.get(self.url + "/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout}s")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    @property
    def log_path(self) -> Path:
        return LOG_DIR / f"{self.name}-{self.port}.log"

    def stop(self) -> int:
        """SIGTERM: graceful shutdown; returns the exit code (uvicorn re-raises SIGTERM once
        shutdown completed, so -SIGTERM is the normal code)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=10)
