"""On a GPU instance whose GPU torch cannot use, the job image stops at once with the
reason instead of running on the CPU (an async endpoint's default AMI has NVIDIA driver
470, too old for the image's CUDA build). CI's torch is a CPU build: the same situation."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from tests.support.env import need, torch_available

pytestmark = pytest.mark.torch
GPU = {"SDAWS_INSTANCE_TYPE": "ml.g5.xlarge"}


def _run(*args: str, extra_env: dict, timeout: int = 120) -> subprocess.CompletedProcess:
    need(torch_available(), "torch is needed to ask it for CUDA")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **extra_env}
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_serve_on_a_gpu_instance_without_cuda_exits_with_the_reason():
    result = _run("sdaws_jobs.serve", "--host", "127.0.0.1", "--port", "0", extra_env=GPU)
    assert result.returncode == 1
    assert "ml.g5.xlarge has an NVIDIA GPU but torch" in result.stderr and "Refusing to run on the CPU" in result.stderr
    assert "al2023-ami-sagemaker-inference-gpu-4-1" in result.stderr


def test_training_on_a_gpu_instance_without_cuda_fails_with_the_reason_in_sagemakers_failure_file(tmp_path):
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps({"spec_channel": "spec"}))
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    spec_dir = tmp_path / "input" / "data" / "spec"
    spec_dir.mkdir(parents=True)
    (spec_dir / "spec.json").write_text(json.dumps({"base_model": "tiny.safetensors", "steps": 1, "output_name": "x"}))
    dataset = tmp_path / "input" / "data" / "dataset"
    dataset.mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(dataset / "a.png")
    result = _run("sdaws_jobs", "train", "--workdir", str(tmp_path), extra_env=GPU)
    assert result.returncode == 1, result.stderr[-2000:]
    failure = (tmp_path / "output" / "failure").read_text()
    assert "ml.g5.xlarge has an NVIDIA GPU but torch" in failure


def test_a_cpu_instance_type_runs_on_the_cpu_as_before(tmp_path):
    result = _run(
        "sdaws_jobs.serve", "--host", "127.0.0.1", "--port", "-1", extra_env={"SDAWS_INSTANCE_TYPE": "ml.r5.large"}
    )
    assert "Refusing to run on the CPU" not in result.stderr  # it got past the check (then the bad port stops it)
