"""ruff (lint and format), mypy and the import-linter boundaries pass on the whole repo."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
MIN_CONTRACTS = 5


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint_is_clean():
    result = run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean_on_the_contract_and_the_core():
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_boundaries_hold():
    result = run(str(BIN / "lint-imports"), "--config", str(REPO_ROOT / "pyproject.toml"))
    assert result.returncode == 0, result.stdout + result.stderr
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", result.stdout)
    assert kept and int(kept.group(1)) >= MIN_CONTRACTS, result.stdout


def test_the_api_never_names_the_job_code():
    """sam_app starts jobs by the contract's module name; it never names or imports the job code."""
    assert run("grep", "-rn", "sdaws_jobs", "sam_app").stdout == ""
