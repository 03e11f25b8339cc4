"""Every command the README and the operations guide show works as written on a fresh clone.

A fresh machine has Python but no ``uv`` on PATH: the ``scripts/`` wrappers install the
pinned uv first. So a shown command may start with a script that exists and is executable,
name only sub-commands and entry points that exist, and never start with a bare ``uv``.
Cheap checks only: nothing is run.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import typer

from crm_runtime.dlq_cli import app as dlq_app
from crm_stack.cli import app as stack_app

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ["README.md", "docs/operations.md"]
RUNNERS = {"uv", "python", "python3"}
INLINE_COMMAND = r"^([A-Z_][A-Z0-9_]*=\S+ )*(scripts/|uv run )"
SUBCOMMANDS = {"scripts/stack": stack_app, "scripts/dlq": dlq_app}
ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")


def _shell_lines(text: str) -> list[str]:
    """Commands of ```bash blocks (continuations joined, comments dropped) and inline code."""
    lines = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            command = re.sub(r"(^|\s)#.*$", "", line).strip()
            if command:
                lines.append(command)
    # Inline code in prose is a command when it reads like one a user would type (the
    # Dockerfile's own `uv sync` steps, say, are described, not meant to be typed).
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    spans = (span.strip() for span in re.findall(r"`([^`\n]+)`", prose))
    lines.extend(span for span in spans if re.match(INLINE_COMMAND, span))
    return lines


def _command(line: str) -> list[str] | None:
    """The words of a command run through one of RUNNERS (leading VAR=value dropped)."""
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    while words and ASSIGNMENT.match(words[0]):
        words = words[1:]
    if not words or not (words[0] in RUNNERS or words[0].startswith("scripts/")):
        return None
    return words


def _shown_commands() -> list[tuple[str, list[str]]]:
    found = []
    for name in DOCUMENTS:
        for line in _shell_lines((ROOT / name).read_text()):
            words = _command(line)
            if words is not None:
                found.append((f"{name}: {line}", words))
    return found


def _entry_points() -> set[str]:
    names: set[str] = set()
    for pyproject in ROOT.glob("*/*/pyproject.toml"):
        names.update(tomllib.loads(pyproject.read_text()).get("project", {}).get("scripts", {}))
    return names


def _problems(words: list[str]) -> list[str]:
    head, rest = words[0], words[1:]
    if head == "uv":
        return ["uv is not on PATH on a fresh machine: use scripts/uv (or a scripts/ wrapper)"]
    if head.startswith("python"):
        return _python_problems(rest)
    script = ROOT / head
    if not (script.is_file() and os.access(script, os.X_OK)):
        return [f"{head} is not an executable script"]
    if head in SUBCOMMANDS and rest:
        known = set(typer.main.get_command(SUBCOMMANDS[head]).commands)  # type: ignore[attr-defined]
        return [f"{head}: no sub-command {s!r}" for s in rest[0].split("|") if s not in known]
    if head == "scripts/uv":
        return _uv_problems(rest)
    return []


def _uv_problems(args: list[str]) -> list[str]:
    words = [w for w in args if not w.startswith("--")]
    if words[:1] != ["run"] or len(words) < 2:
        return []
    target = words[1]
    if target.startswith("python"):
        return _python_problems(words[2:])
    return [] if target in _entry_points() else [f"no entry point {target!r} in the workspace"]


def _python_problems(args: list[str]) -> list[str]:
    if args[:1] == ["-m"]:
        module = args[1]
        return [] if importlib.util.find_spec(module) else [f"no module {module!r}"]
    return [] if args and (ROOT / args[0]).is_file() else [f"no script {args[:1]}"]


def test_the_documents_show_commands() -> None:
    shown = [words[0] for _, words in _shown_commands()]
    assert {"scripts/run", "scripts/test", "scripts/stack", "scripts/dlq"} <= set(shown)


@pytest.mark.parametrize(("where", "words"), _shown_commands(), ids=lambda v: str(v)[:80])
def test_each_shown_command_exists_as_written(where: str, words: list[str]) -> None:
    assert _problems(words) == [], where


def test_the_old_bare_uv_command_would_have_been_caught() -> None:
    words = _command("uv run crm-stack down")
    assert words is not None
    assert _problems(words) != []


def test_an_unknown_sub_command_would_have_been_caught() -> None:
    assert _problems(["scripts/stack", "stop"]) == ["scripts/stack: no sub-command 'stop'"]
