"""Resolve a committed pom's runtime dependencies into one folder, once (cached)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from crm_stack.config import StackError

COMPLETE = ".complete"


def libs_ready(libs_dir: Path) -> bool:
    return (libs_dir / COMPLETE).is_file()


def copy_dependencies(
    pom: Path, libs_dir: Path, log_file: Path, *, expect: str, what: str, version: str
) -> None:
    """`mvn dependency:copy-dependencies` of `pom` into `libs_dir`, unless a previous run
    completed; `expect` is a glob that must match afterwards (the main artifact)."""
    if libs_ready(libs_dir):
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(f"{what} needs Maven (`mvn`) once to resolve it")
    libs_dir.mkdir(parents=True, exist_ok=True)
    cmd = [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies"]
    cmd += [f"-DoutputDirectory={libs_dir}", "-DincludeScope=runtime"]
    with log_file.open("ab") as log:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=900
        )
    if result.returncode != 0 or not any(libs_dir.glob(expect)):
        raise StackError(f"Maven could not resolve {what}; see {log_file}")
    (libs_dir / COMPLETE).write_text(version + "\n")
