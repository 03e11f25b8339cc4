"""Write (or check) each service's committed AsyncAPI document, ``services/<name>/asyncapi.json``.

    python -m crm_runtime.contracts          # rewrite every service's document
    python -m crm_runtime.contracts --check  # exit 1 and list what is stale

A document is built from the service's real wiring — ``create_app()`` composes the service
without I/O, and its runtime knows what it consumes and publishes — so it cannot drift from
the code; the same document is served at ``/asyncapi.json``. A development tool: it imports
the service packages by name, which only the workspace has together.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crm_events.artefacts import dump_json

SERVICES = ("contacts", "feedback", "loyalty", "offboarding", "insights")
DOCUMENT = "asyncapi.json"


def service_document(service: str) -> dict[str, Any]:
    app = importlib.import_module(f"crm_{service}.app").create_app()
    document: dict[str, Any] = app.state.runtime.asyncapi()
    return document


def committed_path(service: str) -> Path:
    """``services/<name>/asyncapi.json`` beside the service's ``src/`` directory."""
    package = importlib.import_module(f"crm_{service}")
    assert package.__file__ is not None
    return Path(package.__file__).resolve().parents[2] / DOCUMENT


def check(services: Sequence[str] = SERVICES) -> list[str]:
    problems = []
    for service in services:
        path = committed_path(service)
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.read_bytes() != dump_json(service_document(service)):
            problems.append(f"{path}: stale")
    return problems


def write(services: Sequence[str] = SERVICES) -> list[str]:
    changed = []
    for service in services:
        path, content = committed_path(service), dump_json(service_document(service))
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
            changed.append(f"{path}: written")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_runtime.contracts", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a document is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run `python -m crm_runtime.contracts` and commit the result", file=sys.stderr)
        return 1 if problems else 0
    for line in write():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
