"""ruff (lint and format), mypy and the import-linter boundaries pass on the whole repo."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.env import REPO_ROOT

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


def test_tests_and_benchmarks_import_product_code_not_test_modules():
    """Shared test code lives in tests/support; a test never imports another test module,
    and a benchmark imports no test code at all."""
    offenders = []
    pattern = re.compile(r"^\s*(?:from|import)\s+tests\.(\w+)", re.M)
    for path in [*(REPO_ROOT / "tests").rglob("*.py"), *(REPO_ROOT / "benchmarks").rglob("*.py")]:
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            if path.is_relative_to(REPO_ROOT / "benchmarks") or match.group(1) != "support":
                offenders.append(f"{path.relative_to(REPO_ROOT)}: {match.group(0).strip()}")
        if re.search(r"^\s*from \.", path.read_text(encoding="utf-8"), re.M):
            offenders.append(f"{path.relative_to(REPO_ROOT)}: a relative import (name the support module)")
    assert offenders == []


def test_shared_fixtures_have_unique_names():
    """tests/support plugins are all registered at once: a repeated fixture name would
    silently replace another."""
    seen: dict[str, str] = {}
    clashes = []
    for path in sorted((REPO_ROOT / "tests" / "support").glob("*.py")):
        for match in re.finditer(r"@pytest\.fixture[^\n]*\n(?:@[^\n]*\n)*def (\w+)", path.read_text()):
            name = match.group(1)
            if name in seen:
                clashes.append(f"{name}: {seen[name]} and {path.name}")
            seen[name] = path.name
    assert clashes == []
