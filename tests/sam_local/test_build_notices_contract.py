"""`sam build --cached` rebuilds the contract layer when the contract changes.

Runs on a copy of the template's sources, so the change is made to the copy only.
"""

from __future__ import annotations

import shutil

import pytest

from tests.support.env import REPO_ROOT
from tests.support.sam_local import run_sam_build

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_a_contract_change_reaches_the_layer_on_a_cached_build(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(REPO_ROOT / "sam_app", src / "sam_app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        REPO_ROOT / "sdaws" / "contract", src / "sdaws" / "contract", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO_ROOT / "template.yaml", src / "template.yaml")
    build = tmp_path / "build"
    cache = ["--cached", "--cache-dir", str(tmp_path / "cache")]
    first = run_sam_build(src, build, tmp_path, *cache)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    built = build / "ContractLayer" / "python" / "sdaws" / "contract" / "job_status.py"
    assert "CHANGED-IN-TEST" not in built.read_text()

    source = src / "sdaws" / "contract" / "job_status.py"
    source.write_text(source.read_text() + "\n# CHANGED-IN-TEST\n")
    second = run_sam_build(src, build, tmp_path, *cache)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "CHANGED-IN-TEST" in built.read_text()
