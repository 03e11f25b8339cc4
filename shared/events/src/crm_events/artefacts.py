"""Where the committed contract artefacts live and how they are serialised.

The artefacts (``schemas/``, ``examples/``, ``asyncapi.json``) are committed beside the
package in ``shared/events``. A wheel bundles them as ``crm_events/_artefacts``; an editable
install (the workspace) reads them from the repository layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parents[1]  # shared/events when running from the repository
SCHEMAS = "schemas"
EXAMPLES = "examples"
ASYNCAPI = "asyncapi.json"


def artefact_root() -> Path:
    """Directory holding ``schemas/``, ``examples/`` and ``asyncapi.json``."""
    bundled = PACKAGE_DIR / "_artefacts"
    return bundled if bundled.is_dir() else SOURCE_ROOT


def dump_json(document: Any) -> bytes:
    """Deterministic, diff-friendly JSON: sorted keys, 2-space indent, trailing newline."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
