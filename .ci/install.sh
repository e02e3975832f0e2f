#!/usr/bin/env bash
# Install everything a fresh machine lacks to run sdaws and its tests; idempotent.
#   system packages (tmux for the terminal test), the project venv (.venv) with every
#   extra, checkov in its own venv, the test data some tests read, and - when
#   ../shared/tools is beside the repo - a Docker engine with the Lambda and moto
#   images that `sam local invoke` needs offline.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { echo "[install] $*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for tool in tmux git make; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  as_root apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
[[ -x .venv/bin/python ]] || { log "creating .venv with $PY"; "$PY" -m venv .venv; }
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
# torch is pinned here and in pyproject: an unpinned torch resolves to a multi-GB CUDA build.
# containers/constraints.txt pins what the job image installs: the tests run those versions.
log "installing sdaws with all extras into .venv"
"${PIP[@]}" -c containers/constraints.txt "torch==2.13.0" -e ".[dev]"
# spandrel without its torchvision dependency (see pyproject's jobs extra): PyPI's torchvision
# cannot import beside the CPU torch and would break diffusers; sdaws_jobs.upscalers runs without it.
"${PIP[@]}" -c containers/constraints.txt --no-deps spandrel
[[ -f .ci/convert_test_data.sh ]] && bash .ci/convert_test_data.sh  # data files some tests read

bash .ci/install_checkov.sh >/dev/null

EMULATION="$ROOT/../shared/tools/lambda-emulation-image.sh"
if [[ -f "$EMULATION" ]]; then
  log "Docker engine and the Lambda/moto images (offline build)"
  as_root bash "$EMULATION"
else
  log "no $EMULATION: sam local tests need Docker and the images (they fail under CI=true)"
fi
log "done"
