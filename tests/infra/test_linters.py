"""The templates pass sam validate --lint, cfn-lint and checkov (skips only with reasons)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.env import REPO_ROOT, need

BIN = Path(sys.executable).parent
TEMPLATES = [REPO_ROOT / "template.yaml", REPO_ROOT / "sam_app" / "deployer_role.yaml"]


def run(*cmd: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_sam_validate_lint(template):
    need((BIN / "sam").exists(), "aws-sam-cli is not installed")
    result = run(str(BIN / "sam"), "validate", "--lint", "--template-file", str(template), "--region", "us-east-1")
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint():
    need((BIN / "cfn-lint").exists(), "cfn-lint is not installed")
    result = run(str(BIN / "cfn-lint"), *map(str, TEMPLATES))
    assert result.returncode == 0, result.stdout + result.stderr


def checkov_binary() -> Path | None:
    result = run("bash", str(REPO_ROOT / ".ci" / "install_checkov.sh"), timeout=900)
    return Path(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 and result.stdout.strip() else None


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_checkov_has_no_failed_check(template):
    checkov = checkov_binary()
    need(checkov is not None and checkov.exists(), "checkov could not be installed (.ci/install_checkov.sh)")
    result = run(
        str(checkov), "-f", str(template), "--framework", "cloudformation", "--output", "json", "--quiet", "--compact"
    )
    report = json.loads(result.stdout or "{}")
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for r in reports
        for c in (r.get("results") or {}).get("failed_checks", [])
    ]
    assert failed == [], "\n".join(failed)
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 0, result.stdout[-2000:] + result.stderr[-2000:]
