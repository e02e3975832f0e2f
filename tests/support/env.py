"""Where the repo is, and the one way a test opts out.

`need(condition, why)` is the one way a test opts out: on a laptop without Docker
or torch it skips, but under CI (env CI set) the missing part is a failure, so CI
can never pass by skipping what matters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def in_ci() -> bool:
    return bool(os.environ.get("CI"))


def need(condition: bool, why: str) -> None:
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI but unavailable: {why}")
    pytest.skip(why)


def docker_available() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def torch_available() -> bool:
    try:
        import diffusers  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True
