"""The image definition and the build script: lint-clean, and the script fails politely."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.env import REPO_ROOT, need

CONTAINERS = REPO_ROOT / "containers"


def _hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.is_file() else shutil.which("hadolint")


def test_dockerfile_is_clean_under_hadolint():
    binary = _hadolint()
    need(binary is not None, "hadolint binary (in .venv/bin or on PATH)")
    result = subprocess.run(
        [binary, "--failure-threshold", "info", str(CONTAINERS / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_copies_what_exists_and_sagemaker_entrypoints_are_executable():
    text = (CONTAINERS / "Dockerfile").read_text()
    for line in text.splitlines():
        if line.startswith("COPY "):
            source = line.split()[1]  # relative to the build context, the repository root
            assert (REPO_ROOT / source).exists(), source
    for name in ("train", "serve", "process"):
        script = CONTAINERS / "bin" / name
        assert os.access(script, os.X_OK), name
        assert subprocess.run(["sh", "-n", str(script)]).returncode == 0


def test_image_requirements_are_pinned_and_leave_torch_to_the_base_image():
    lines = [line.strip() for line in (CONTAINERS / "requirements.txt").read_text().splitlines()]
    pins = [line for line in lines if line and not line.startswith("#")]
    assert pins and all("==" in p for p in pins)
    assert not any(p.startswith("torch") for p in pins)


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(CONTAINERS / "build_and_push.sh"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_REGION": "us-east-1"},
    )


def test_build_script_parses_and_has_help():
    assert subprocess.run(["bash", "-n", str(CONTAINERS / "build_and_push.sh")]).returncode == 0
    result = _script("--help")
    assert result.returncode == 0 and "Usage:" in result.stdout and "JobImageUri" in result.stdout


def test_build_script_rejects_bad_arguments_with_exit_2():
    result = _script("--bogus")
    assert result.returncode == 2 and "unknown option" in result.stderr
    result = _script("--repository", "Bad Name")
    assert result.returncode == 2 and "not a valid ECR name" in result.stderr
    result = _script("--tag")
    assert result.returncode != 0 and "--tag needs a value" in result.stderr
