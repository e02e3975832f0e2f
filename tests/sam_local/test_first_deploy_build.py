"""`sam build` exactly as the README's First deploy says, on the files of a fresh clone,
from a shell with only `sam` and the system's tools on PATH (no project venv, nothing
pip-installed): it once failed with "sdaws_jobs is not importable by python3"."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from tests.support.env import REPO_ROOT, need
from tests.support.sam_local import SAM, bare_path

pytestmark = pytest.mark.slow
README = (REPO_ROOT / "README.md").read_text()


def _first_deploy() -> str:
    return README.split("## First deploy", 1)[1].split("\n## ", 1)[0]


def _build_command() -> list[str]:
    blocks = re.findall(r"```bash\n(.+?)\n```", _first_deploy(), flags=re.S)
    [line] = [line for block in blocks for line in block.splitlines() if line.startswith("sam build")]
    return shlex.split(line.split("&&")[0])


def test_the_readme_first_deploy_names_every_step():
    text = _first_deploy()
    for step in (
        "aws service-quotas",
        "containers/build_and_push.sh",
        "sam build && sam deploy --guided",
        "cold start",
        "per minute",
        "sam delete",
    ):
        assert step in text, step


def test_sam_build_as_the_readme_says_works_on_a_fresh_clone(tmp_path):
    from pathlib import Path

    need(Path(SAM).exists(), "aws-sam-cli is not installed")
    clone = tmp_path / "clone"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        source = REPO_ROOT / rel
        if source.is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            (clone / rel).write_bytes(source.read_bytes())
    command = _build_command()
    assert command == ["sam", "build"]
    result = subprocess.run(
        command,
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=1200,
        env={"PATH": bare_path(tmp_path), "HOME": str(tmp_path / "home"), "SAM_CLI_TELEMETRY": "0", "LANG": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    built = clone / ".aws-sam" / "build"
    for function in (
        "ApiFunction",
        "SageMakerEventsFunction",
        "AsyncInferenceFunction",
        "TrainStepsFunction",
        "EndpointEventsFunction",
    ):
        assert (built / function / "sam_app" / "handlers").is_dir(), function
    assert (built / "ContractLayer" / "python" / "sdaws" / "contract" / "specs.py").is_file()
    assert not list(built.glob("*/sdaws_jobs"))  # the job code stays out of the Lambda bundles
