"""The merge job against the formulas, through the real entrypoint."""

from __future__ import annotations

import pytest

from tests.support.env import need, torch_available
from tests.support.jobrun import make_workdir, run_job

pytestmark = pytest.mark.torch


@pytest.fixture
def checkpoints(tmp_path):
    need(torch_available(), "torch is needed to write the test checkpoints")
    import torch
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(0)

    def model(name, extra=None):
        tensors = {
            "model.diffusion_model.w": torch.randn(4, 3, generator=g),
            "model.diffusion_model.h": torch.randn(5, generator=g).half(),
            "model.diffusion_model.conv_in": torch.randn(2, 9 if name == "b" else 4, generator=g),
            "cond_stage_model.position_ids": torch.arange(7).unsqueeze(0),
            **(extra or {}),
        }
        path = tmp_path / f"{name}.safetensors"
        save_file(tensors, str(path))
        return path, tensors

    return {n: model(n, {"only_in_b": torch.ones(2)} if n == "b" else None) for n in "abc"}


def _load(path):
    from safetensors.torch import load_file

    return load_file(str(path))


@pytest.mark.parametrize("half", [False, True])
def test_weighted_sum(tmp_path, checkpoints, half):
    spec = {
        "model_a": "Stable-diffusion/a.safetensors",
        "model_b": "b.safetensors",
        "multiplier": 0.3,
        "half": half,
        "output_name": "ab",
    }
    channels = {"model_a": [checkpoints["a"][0]], "model_b": [checkpoints["b"][0]]}
    result = run_job("merge", make_workdir(tmp_path / "job", spec, channels))
    assert result.code == 0, result.stderr[-2000:]
    [out] = result.outputs()
    assert out == {
        "event": "output",
        "file": "Stable-diffusion/ab.safetensors",
        "type": "Stable-diffusion",
        "name": "ab.safetensors",
    }
    merged = _load(tmp_path / "job" / "output" / out["file"])
    a, b = checkpoints["a"][1], checkpoints["b"][1]
    assert set(merged) == set(a)  # A's keys decide; B's extra key is dropped
    for key in ("model.diffusion_model.w", "model.diffusion_model.h"):
        expected = a[key].float() * 0.7 + b[key].float() * 0.3
        expected = expected.half() if half else expected.to(a[key].dtype)
        assert merged[key].dtype == expected.dtype
        assert merged[key].equal(expected), key
    # Shape mismatch (inpainting-style conv_in) and integer tensors: A, unchanged.
    assert merged["model.diffusion_model.conv_in"].equal(
        a["model.diffusion_model.conv_in"].half() if half else a["model.diffusion_model.conv_in"]
    )
    assert merged["cond_stage_model.position_ids"].equal(a["cond_stage_model.position_ids"])


def test_add_difference(tmp_path, checkpoints):
    spec = {
        "mode": "add_difference",
        "model_a": "a",
        "model_b": "b",
        "model_c": "c",
        "multiplier": 1.5,
        "output_name": "abc.safetensors",
    }
    channels = {k: [checkpoints[k[-1]][0]] for k in ("model_a", "model_b", "model_c")}
    result = run_job("merge", make_workdir(tmp_path / "job", spec, channels))
    assert result.code == 0, result.stderr[-2000:]
    merged = _load(tmp_path / "job" / "output" / "Stable-diffusion" / "abc.safetensors")
    a, b, c = (checkpoints[k][1] for k in "abc")
    key = "model.diffusion_model.w"
    assert merged[key].equal(a[key] + (b[key] - c[key]) * 1.5)
    assert not list((tmp_path / "job" / "output" / "Stable-diffusion").glob("*.partial"))
