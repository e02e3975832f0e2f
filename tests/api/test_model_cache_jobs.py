"""txt2img on a single-file checkpoint converts it once: later jobs on the same file, also
after a server restart, load the cached conversion; a changed file is converted again;
a convert job's folder in the tree's diffusers/ serves the jobs on its source file.

Real local server on loopback, real job processes, a tiny SD1 checkpoint in the
published original layout (CPU). Reuse is observed through the job's own log line and
the cache folder (under the data dir), never through timing."""

from __future__ import annotations

import httpx
import pytest

from sam_app.adapters.local.job_runner import job_command
from tests.support.job_server import tiny_checkpoint
from tests.support.jobs_api import only_forward, watch

pytestmark = [pytest.mark.torch, pytest.mark.slow]

MODEL = "Stable-diffusion/tiny.safetensors"
PARAMS = {"prompt": "a red fox", "steps": 2, "seed": 5, "width": 32, "height": 32, "model": MODEL}
CONVERTED = "tiny.safetensors: converted once"
REUSED = "tiny.safetensors: reusing its cached conversion"
FROM_TREE = "tiny.safetensors: reusing its conversion in the tree's diffusers/"


@pytest.fixture
def checkpoint(models_dir):
    return tiny_checkpoint(models_dir / MODEL, seed=1)


def run(api: httpx.Client, kind: str, params: dict) -> tuple[dict, list[str]]:
    """(the finished job, its log lines)"""
    created = api.post("/jobs", json={"kind": kind, "params": params})
    assert created.status_code == 201, created.text
    job, seen = watch(api, created.json()["job_id"], created.json()["status"])
    lines = api.get(f"/jobs/{job['job_id']}/logs", params={"limit": 1000}).json()["lines"]
    assert job["status"] == "SUCCEEDED", lines[-20:]
    assert only_forward(seen)
    return job, lines


def said(lines: list[str], text: str) -> bool:
    return any(text in line for line in lines)


def image(api: httpx.Client, job: dict) -> bytes:
    outputs = api.get(f"/jobs/{job['job_id']}/outputs").json()["outputs"]
    return httpx.get(next(o["url"] for o in outputs if o["type"] == "images")).content


def test_a_single_file_is_converted_once_and_reused_across_restarts(start_server, checkpoint, tmp_path):
    entries = tmp_path / "data" / "cache" / "converted" / "entries"
    handle, api = start_server(job_command=job_command)
    first, lines = run(api, "txt2img", PARAMS)
    assert said(lines, CONVERTED) and not said(lines, REUSED)
    assert len(list(entries.iterdir())) == 1

    handle.stop()  # the cache lives under the data dir, not in the job's scratch
    _, api = start_server(job_command=job_command)
    again, lines = run(api, "txt2img", PARAMS)
    assert said(lines, REUSED) and not said(lines, CONVERTED)
    assert len(list(entries.iterdir())) == 1
    assert image(api, again) == image(api, first)  # the cached folder is the same model

    tiny_checkpoint(checkpoint, seed=2)  # the user replaces the file: other weights
    changed, lines = run(api, "txt2img", PARAMS)
    assert said(lines, CONVERTED) and not said(lines, REUSED)
    assert len(list(entries.iterdir())) == 2
    assert image(api, changed) != image(api, first)


def test_a_convert_jobs_folder_in_the_tree_serves_txt2img_on_its_file(start_server, checkpoint, models_dir, tmp_path):
    _, api = start_server(job_command=job_command)
    convert, _ = run(api, "convert", {"model": MODEL, "output_name": "tiny-conv"})
    assert (models_dir / "diffusers" / "tiny-conv" / "model_index.json").is_file()
    _, lines = run(api, "txt2img", PARAMS)
    assert said(lines, FROM_TREE) and not said(lines, CONVERTED)
    assert not list((tmp_path / "data" / "cache" / "converted" / "entries").iterdir())  # no second copy
