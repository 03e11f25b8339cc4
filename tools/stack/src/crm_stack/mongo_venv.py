"""The private virtualenv of the MongoDB-protocol server (nx-27017 pins its own pymongo,
so it must not share an environment with the project)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from crm_stack.config import StackError
from crm_stack.procs import tail

PINS = ("nx-27017==0.8.1", "neosqlite==1.17.2")
MARKER = "crm-stack-pins.txt"
_INSTALL_TIMEOUT = 600.0

PING_SCRIPT = """\
import sys
import pymongo
client = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=2000, connectTimeoutMS=2000)
try:
    client.admin.command("ping")
finally:
    client.close()
"""


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def nx_binary(venv: Path) -> Path:
    return venv / "bin" / "nx-27017"


def clean_env() -> dict[str, str]:
    """Our environment minus what would leak the caller's Python setup into the venv."""
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONNOUSERSITE"):
        env.pop(key, None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def is_installed(venv: Path) -> bool:
    try:
        marker = (venv / MARKER).read_text()
    except OSError:
        return False
    return marker.split() == list(PINS) and venv_python(venv).exists() and nx_binary(venv).exists()


def _run(cmd: list[str], log_file: Path, what: str) -> None:
    with log_file.open("ab") as log:
        log.write(f"$ {' '.join(cmd)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(  # noqa: S603 - fixed argv, no shell
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(),
                timeout=_INSTALL_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StackError(f"{what} failed: {exc}") from exc
    if result.returncode != 0:
        raise StackError(
            f"{what} failed (exit {result.returncode}); last lines of {log_file}:\n{tail(log_file)}"
        )


def ensure_mongo_venv(venv: Path, log_file: Path) -> bool:
    """Create `venv` and install the pinned server into it unless the marker file says
    it is already there. Returns True when it installed something. Safe to run
    concurrently (a lock file beside the venv serialises installers)."""
    if is_installed(venv):
        return False
    venv.parent.mkdir(parents=True, exist_ok=True)
    lock_path = venv.parent / f"{venv.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_installed(venv):
            return False
        if not venv_python(venv).exists():
            _run([sys.executable, "-m", "venv", str(venv)], log_file, f"creating {venv}")
        (venv / MARKER).unlink(missing_ok=True)
        pip = [str(venv_python(venv)), "-m", "pip", "install", "--no-input", *PINS]
        _run(pip, log_file, f"installing {' '.join(PINS)} into {venv}")
        (venv / MARKER).write_text("\n".join(PINS) + "\n")
    return True


def mongo_answers(venv: Path, uri: str, timeout: float = 5.0) -> bool:
    """A real `ping` through pymongo from the server's own venv."""
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [str(venv_python(venv)), "-c", PING_SCRIPT, uri],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=clean_env(),
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0
