"""Write (or check) the committed contract artefacts.

    python -m crm_events.generate          # rewrite schemas/, examples/, asyncapi.json
    python -m crm_events.generate --check  # exit 1 and list what is stale

Everything is derived from the models and ``crm_events.examples``; never edit by hand.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from crm_events.artefacts import ASYNCAPI, EXAMPLES, SCHEMAS, SOURCE_ROOT, dump_json
from crm_events.asyncapi import asyncapi_document
from crm_events.catalog import REGISTRY
from crm_events.examples import build_example, example_bytes
from crm_events.schemas import envelope_schema, payload_schema

GENERATED_DIRS = (SCHEMAS, EXAMPLES)

__all__ = ["asyncapi_document", "check", "main", "render", "write"]


def render() -> dict[str, bytes]:
    """Every artefact, keyed by its path relative to ``shared/events``."""
    files = {f"{SCHEMAS}/cloudevent.json": dump_json(envelope_schema())}
    for model in REGISTRY.models:
        files[f"{SCHEMAS}/{model.event_type()}.json"] = dump_json(payload_schema(model))
        files[f"{EXAMPLES}/{model.event_type()}.json"] = example_bytes(build_example(model))
    files[ASYNCAPI] = dump_json(asyncapi_document())
    return dict(sorted(files.items()))


def check(root: Path = SOURCE_ROOT) -> list[str]:
    """Problems with the committed artefacts under ``root``; empty when all are current."""
    wanted = render()
    problems = []
    for name, content in wanted.items():
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.read_bytes() != content:
            problems.append(f"{name}: stale")
    problems.extend(f"{name}: not generated any more" for name in _orphans(root, wanted))
    return problems


def write(root: Path = SOURCE_ROOT) -> list[str]:
    """Bring the artefacts under ``root`` up to date; return what was done, one line a file."""
    wanted = render()
    changed = []
    for name, content in wanted.items():
        path = root / name
        if not path.is_file() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            changed.append(f"{name}: written")
    for name in _orphans(root, wanted):
        (root / name).unlink()
        changed.append(f"{name}: removed")
    return changed


def _orphans(root: Path, wanted: dict[str, bytes]) -> list[str]:
    found = (
        path.relative_to(root).as_posix()
        for directory in GENERATED_DIRS
        for path in (root / directory).glob("*.json")
    )
    return sorted(name for name in found if name not in wanted)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_events.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if any artefact is stale")
    parser.add_argument(
        "--root", type=Path, default=SOURCE_ROOT, help="directory holding the artefacts"
    )
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.root)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run `python -m crm_events.generate` and commit the result", file=sys.stderr)
        return 1 if problems else 0
    for line in write(args.root):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
