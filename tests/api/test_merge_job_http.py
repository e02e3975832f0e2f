"""A real job end to end: `python -m sdaws_jobs merge` as a subprocess of the local server."""

from __future__ import annotations

import httpx
import pytest

from sam_app.adapters.local.job_runner import job_command
from tests.support.env import need, torch_available
from tests.support.jobs_api import only_forward, watch

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _checkpoint(path, seed: int) -> dict:
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(seed)
    tensors = {
        "model.diffusion_model.input_blocks.0.0.weight": torch.randn(8, 4, 3, 3, generator=generator),
        "first_stage_model.decoder.conv_in.bias": torch.randn(16, generator=generator),
        "cond_stage_model.transformer.text_model.embeddings.position_ids": torch.arange(77).unsqueeze(0),
    }
    save_file(tensors, str(path))
    return tensors


def test_merge_job_through_the_api(start_server, models_dir):
    need(torch_available(), "torch and diffusers are needed to run the merge job")
    import torch
    from safetensors.torch import load

    a = _checkpoint(models_dir / "Stable-diffusion" / "base.safetensors", 1)
    b = _checkpoint(models_dir / "Stable-diffusion" / "style.safetensors", 2)
    _, api = start_server(job_command=job_command)
    params = {
        "model_a": "Stable-diffusion/base.safetensors",
        "model_b": "style.safetensors",
        "multiplier": 0.25,
        "output_name": "blend",
    }
    created = api.post("/jobs", json={"kind": "merge", "params": params}, headers={"Idempotency-Key": "merge-blend"})
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]

    job, seen = watch(api, job_id, created.json()["status"])
    assert job["status"] == "SUCCEEDED", api.get(f"/jobs/{job_id}/logs").json()["lines"]
    assert only_forward(seen) and seen[-1] == "SUCCEEDED"
    assert job["progress"]["step"] == job["progress"]["total"] == 3
    assert job["outputs"] == [
        {
            "type": "Stable-diffusion",
            "name": "blend.safetensors",
            "key": "Stable-diffusion/blend.safetensors",
            "size": job["outputs"][0]["size"],
        }
    ]

    output = api.get(f"/jobs/{job_id}/outputs").json()["outputs"][0]
    merged = load(httpx.get(output["url"]).content)
    for key in a:
        if a[key].is_floating_point():
            torch.testing.assert_close(merged[key], 0.75 * a[key] + 0.25 * b[key])
        else:
            assert torch.equal(merged[key], a[key])
    # The result is in the tree for the next job, and a retry returns the same job.
    assert api.get("/models/Stable-diffusion/blend.safetensors").status_code == 200
    retry = api.post("/jobs", json={"kind": "merge", "params": params}, headers={"Idempotency-Key": "merge-blend"})
    assert retry.status_code == 200 and retry.json()["job_id"] == job_id
