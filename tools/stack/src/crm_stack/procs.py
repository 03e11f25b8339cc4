"""Process plumbing: detached start, PID files, liveness, ports, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

# Children started by this Python process; polled so they never linger as zombies
# (a zombie still answers `kill -0`).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def spawn(cmd: Sequence[str], *, cwd: Path, log_file: Path, env: dict[str, str]) -> int:
    """Start `cmd` detached from our session (own process group, stdin closed,
    stdout/stderr appended to `log_file`) and return its PID."""
    with log_file.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            list(cmd),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    return proc.pid


def read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid > 0 else None


def write_pid(pid_file: Path, pid: int) -> None:
    pid_file.write_text(f"{pid}\n")


def is_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def cmdline(pid: int) -> str | None:
    """The process's command line, or None where /proc is unavailable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _listening_inodes(port: int) -> set[str] | None:
    inodes: set[str] = set()
    found_table = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        found_table = True
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes if found_table else None


def listens(pid: int, port: int, host: str) -> bool:
    """Whether process `pid` owns a listening socket on `port` (Linux /proc); where
    /proc is unavailable, whether anything accepts connections on host:port."""
    inodes = _listening_inodes(port)
    fd_dir = Path(f"/proc/{pid}/fd")
    if inodes is None or not fd_dir.is_dir():
        return port_open(host, port)
    for fd in fd_dir.iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return True
    return False


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def kafka_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Send a Kafka ApiVersions v0 request and check for a well-formed, error-free reply."""
    client_id = b"crm-stack"
    body = struct.pack(">hhih", 18, 0, 7301, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            reply = b""
            while len(reply) < 10:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                reply += chunk
    except OSError:
        return False
    _size, correlation_id, error_code = struct.unpack(">iih", reply[:10])
    return bool(correlation_id == 7301 and error_code == 0)


def terminate(pid: int, grace: float = 5.0) -> bool:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. True if it had to be killed."""
    if not is_alive(pid):
        _CHILDREN.pop(pid, None)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(pid):
            _CHILDREN.pop(pid, None)
            return False
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.wait(timeout=5)
    else:
        for _ in range(100):
            if not is_alive(pid):
                break
            time.sleep(0.02)
    return True


def kill(pid: int) -> None:
    """SIGKILL and reap: no flush, no clean shutdown (crash simulation)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.wait(timeout=10)
        return
    for _ in range(500):
        if not is_alive(pid):
            return
        time.sleep(0.02)


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    picked = text.splitlines()[-lines:]
    return "\n".join(picked) if picked else f"(log {path} is empty)"
