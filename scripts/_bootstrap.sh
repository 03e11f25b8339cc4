# Sourced by scripts/run and scripts/test: a fresh machine needs only Python >= 3.11.
# Installs the pinned uv into .stack/tools (no system changes) and syncs the locked workspace.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV_VERSION="0.13.9"
TOOLS="$ROOT/.stack/tools"
PYTHON="${PYTHON:-python3}"

if command -v uv >/dev/null 2>&1 && [ "$(uv --version | awk '{print $2}')" = "$UV_VERSION" ]; then
  UV="uv"
else
  if [ ! -x "$TOOLS/bin/uv" ]; then
    echo "bootstrap: installing uv $UV_VERSION into .stack/tools" >&2
    "$PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  UV="$TOOLS/bin/uv"
fi
# The interpreter's real path (not a pyenv shim), so uv keeps the existing .venv instead of
# recreating it on every `uv run`.
export UV_PYTHON="${UV_PYTHON:-$("$PYTHON" -c 'import sys; print(sys.executable)')}"
"$UV" sync --frozen --quiet
