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


def _pins() -> dict[str, str]:
    lines = (CONTAINERS / "constraints.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_the_image_and_ci_install_from_one_constraints_file():
    """The image once ran the base image's torch 2.5.1 while the tests ran 2.13 (and
    diffusers 0.39 needs torch >= 2.6): every package now comes from constraints.txt."""
    pins = _pins()
    requirements = [line.strip() for line in (CONTAINERS / "requirements.txt").read_text().splitlines()]
    names = [line for line in requirements if line and not line.startswith("#")]
    assert names and all("=" not in n and n.lower().replace("_", "-") in pins for n in names)
    assert pins["torch"] == "2.13.0"
    dockerfile = (CONTAINERS / "Dockerfile").read_text()
    base = [line for line in dockerfile.splitlines() if line.startswith("ARG BASE_IMAGE=")]
    assert base and "pytorch" not in base[0] and "torch" not in base[0]  # no base image brings its own torch
    assert dockerfile.count("-c /opt/program/constraints.txt") == 3  # torch, the rest, spandrel (no deps)
    assert "containers/constraints.txt" in (REPO_ROOT / ".ci" / "install.sh").read_text()


def test_the_test_venv_runs_exactly_the_pinned_versions():
    from importlib.metadata import PackageNotFoundError, requires, version

    from packaging.requirements import Requirement

    drift = {}
    for name, pinned in _pins().items():
        try:
            installed = version(name).split("+")[0]
        except PackageNotFoundError:
            continue  # e.g. a GPU-only dependency
        if installed != pinned:
            drift[name] = (installed, pinned)
    assert drift == {}, f"installed != containers/constraints.txt: {drift}"
    # What the pinned diffusers needs of torch is what the pinned torch is.
    torch_needs = [Requirement(r) for r in requires("diffusers") or [] if r.startswith("torch")]
    assert all(r.specifier.contains(_pins()["torch"]) for r in torch_needs if not r.marker)


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
