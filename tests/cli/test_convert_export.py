"""`sdaws convert` / `sdaws export` as users run them: installed entry point, exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.torch, pytest.mark.slow, pytest.mark.usefixtures("torch_needed")]


def sdaws(*args, cwd=None):
    exe = shutil.which("sdaws", path=os.path.dirname(sys.executable)) or shutil.which("sdaws")
    cmd = [exe] if exe else [sys.executable, "-m", "sdaws.entry"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def test_convert_json_summary_then_export_back(checkpoint_file, tmp_path):
    out = tmp_path / "model"
    run = sdaws("convert", checkpoint_file("sd1"), "--output", out, "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["arch"] == "sd1" and summary["prediction_type"] == "epsilon" and summary["image_size"] == 512
    assert summary["reasons"] and summary["output"] == str(out) and summary["tensors_written"] > 1000
    assert (out / "model_index.json").is_file()
    back = tmp_path / "back.safetensors"
    run = sdaws("export", out, "--output", back)
    assert run.returncode == 0, run.stderr
    assert back.stat().st_size > 0


def test_sd2_default_is_explained_and_overridable(checkpoint_file, tmp_path):
    run = sdaws("convert", checkpoint_file("sd2-768"), "--output", tmp_path / "a")
    assert run.returncode == 0, run.stderr
    assert "sd2-768" in run.stdout and "--arch sd2-512" in run.stdout
    run = sdaws(
        "convert", checkpoint_file("sd2-768"), "--output", tmp_path / "b", "--arch", "sd2-512", "--half", "--json"
    )
    summary = json.loads(run.stdout)
    assert (summary["arch"], summary["prediction_type"], summary["image_size"]) == ("sd2-512", "epsilon", 512)
    from safetensors import safe_open

    with safe_open(str(tmp_path / "b" / "unet" / "diffusion_pytorch_model.safetensors"), "pt") as f:
        assert f.get_tensor("conv_in.weight").dtype.itemsize == 2


@pytest.mark.parametrize("problem", ["malicious", "missing", "output-exists", "not-a-model", "lora"])
def test_bad_input_exits_2_with_one_line(problem, checkpoint_file, tmp_path):
    out = tmp_path / "out"
    src = tmp_path / "in.ckpt"
    if problem == "malicious":
        src.write_bytes(pickle.dumps(_Evil(), protocol=2))
    elif problem == "missing":
        src = tmp_path / "nope.safetensors"
    elif problem == "output-exists":
        src = checkpoint_file("sd1")
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    elif problem == "not-a-model":
        src = tmp_path / "vae.safetensors"
        import torch
        from safetensors.torch import save_file

        save_file({"encoder.conv_in.weight": torch.zeros(1)}, str(src))
    else:
        src = tmp_path / "lora.safetensors"
        import torch
        from safetensors.torch import save_file

        save_file({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(1)}, str(src))
    run = sdaws("convert", src, "--output", out)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "Traceback" not in run.stderr and run.stderr.startswith("sdaws: ")
    if problem == "malicious":
        assert "posix.system" in run.stderr or "os.system" in run.stderr
    if problem == "output-exists":
        assert (out / "keep.txt").read_text() == "mine"
    elif problem == "lora":
        assert "Lora/" in run.stderr
    else:
        assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))  # no half-written temp folder either


class _Evil:
    def __reduce__(self):
        import os

        return os.system, ("echo pwned",)
