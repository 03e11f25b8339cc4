"""Creates the compose `.env` from deploy/.env.example with fresh random secrets.

    python3 deploy/init_env.py            # writes ./.env (mode 600) unless it exists
    python3 deploy/init_env.py --force    # overwrite (new secrets!)
    python3 deploy/init_env.py --output PATH

Every ``change-me-...`` placeholder becomes a distinct random hex token (48 characters:
safe inside MongoDB URIs without escaping), including the API keys in ``CRM_API_KEYS``.
Standard library only, so it runs before any virtualenv exists. MongoDB passwords are
applied when the data volume is first initialised: regenerating `.env` later does not change
them (docs/operations.md, "Rotating secrets").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
EXAMPLE = DEPLOY / ".env.example"
DEFAULT_OUTPUT = DEPLOY.parent / ".env"
PLACEHOLDER = re.compile(r"change-me-[a-z0-9-]+")
ASSIGNMENT = re.compile(r"^#?\s*[A-Z][A-Z0-9_]*=")


def render(example: str) -> str:
    """The example with every placeholder of an assignment (also a commented, optional one)
    replaced by its own random token."""
    lines = example.splitlines(keepends=True)
    return "".join(
        PLACEHOLDER.sub(lambda _: secrets.token_hex(24), line) if ASSIGNMENT.match(line) else line
        for line in lines
    )


def api_keys(env_text: str) -> dict[str, str]:
    match = re.search(r"^CRM_API_KEYS='(.*)'$", env_text, re.MULTILINE)
    return json.loads(match.group(1)) if match else {}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args(argv)
    output: Path = args.output
    if output.exists() and not args.force:
        print(f"{output} exists: left unchanged (use --force to regenerate)")
        return 0
    text = render(EXAMPLE.read_text(encoding="utf-8"))
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(output, 0o600)
    roles = ", ".join(sorted(set(api_keys(text).values())))
    print(f"wrote {output} (mode 600) with random secrets; API keys for roles {roles} are in")
    print("CRM_API_KEYS there: send `Authorization: Bearer <key>`.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
