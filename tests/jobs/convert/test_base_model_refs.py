"""Base-model references as users know them from `resume_ckpt`, resolved offline.

A Hugging Face repo id (optionally `repo:subfolder`) resolves through the HF cache;
HUGGINGFACE_HUB_CACHE (the variable users were told about) is honoured. The cache is
populated by the test in the hub's own layout, and HF_HUB_OFFLINE=1 proves no
network is used. Runs in a child process because huggingface_hub reads these
variables once, at import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.support.env import REPO_ROOT

pytestmark = [pytest.mark.torch, pytest.mark.slow]

CHILD = """
import sys
from pathlib import Path
from sdaws_jobs.model_ref import find_model
from sdaws_jobs.pipelines import local_model_dir
ref = find_model(Path(sys.argv[1]), sys.argv[2])
print(ref.kind, ref.location, ref.subfolder)
print(local_model_dir(ref, Path(sys.argv[3])))
"""


def test_repo_id_with_subfolder_resolves_from_huggingface_hub_cache(converted, tmp_path):
    cache = tmp_path / "my-hub-cache"
    commit = "1" * 40
    repo = cache / "models--someone--tiny-sd"
    shutil.copytree(converted("sd1"), repo / "snapshots" / commit / "v1")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    channel = tmp_path / "model"
    channel.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HUGGINGFACE_HUB_CACHE": str(cache), "HF_API_TOKEN": "hf_test"}
    env.pop("HF_HOME", None)
    env.pop("HF_HUB_CACHE", None)
    run = subprocess.run(
        [sys.executable, "-c", CHILD, str(channel), "someone/tiny-sd:v1", str(tmp_path / "scratch")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    kind_line, path_line = run.stdout.strip().splitlines()[-2:]
    assert kind_line == "hub someone/tiny-sd v1"
    assert path_line == str(repo / "snapshots" / commit / "v1")
