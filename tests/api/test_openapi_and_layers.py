"""The committed OpenAPI document is what the code generates, and core stays pure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def test_committed_openapi_is_current():
    from sam_app.api.openapi import COMMITTED, render

    assert COMMITTED.read_text() == render(), (
        "sam_app/openapi.json is stale: run `python -m sam_app.api.openapi` and commit it"
    )


def test_core_imports_neither_aws_sdk_nor_powertools_nor_textual():
    lint = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", str(REPO_ROOT / "pyproject.toml")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "1 kept, 0 broken" in lint.stdout
