#!/usr/bin/env bash
# Install checkov into its own venv (.venv-checkov at the repo root) and print the
# path of its executable on stdout (everything else goes to stderr).
# checkov pins many heavy dependencies that clash with the project venv, hence the
# separate venv. Idempotent: when the pinned version is already there it returns at
# once without touching the network.
set -euo pipefail

CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-checkov"
BIN="$VENV/bin/checkov"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

installed_version() {
  # Read the installed version from package metadata; `checkov --version` is slow.
  "$VENV/bin/python" - <<'PYEOF' 2>/dev/null
from importlib.metadata import version
print(version("checkov"))
PYEOF
}

if [[ -x "$BIN" && "$(installed_version || true)" == "$CHECKOV_VERSION" ]]; then
  echo "$BIN"
  exit 0
fi

echo "installing checkov==$CHECKOV_VERSION into $VENV" >&2
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
  "checkov==$CHECKOV_VERSION" >&2
"$BIN" --version >&2
echo "$BIN"
