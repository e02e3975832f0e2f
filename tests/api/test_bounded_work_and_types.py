"""Bounded work and strict types at the API.

A prompt is bounded by what the text encoder can read, a job's total work by what a
day on one GPU does, and listings return summaries (a job's params can be large; GET
/jobs/<id> has them). Request bodies are typed strictly: "20" is not a number.
"""

from __future__ import annotations

import json

import pytest

from sdaws.contract.specs import MAX_PROMPT_CHARS
from tests.support.jobs_api import merge_params, wait_for

TXT2IMG = {"prompt": "a fox", "model": "Stable-diffusion/a.safetensors"}


def _refused(api, kind: str, params: dict, *expected: str) -> None:
    answer = api.post("/jobs", json={"kind": kind, "params": params})
    assert answer.status_code == 422, answer.text[:300]
    message = answer.json()["message"]
    for text in expected:
        assert text in message, message


def test_a_9_mib_prompt_is_refused_with_the_limit(api):
    _refused(api, "txt2img", TXT2IMG | {"prompt": "fox " * (9 * 1024 * 256)}, "params.prompt", f"{MAX_PROMPT_CHARS}")
    _refused(api, "txt2img", TXT2IMG | {"negative_prompt": "x" * (MAX_PROMPT_CHARS + 1)}, "params.negative_prompt")
    assert api.post(
        "/jobs", json={"kind": "txt2img", "params": TXT2IMG | {"prompt": "x" * MAX_PROMPT_CHARS}}
    ).status_code in (
        200,
        201,
    )


def test_absurd_total_work_is_refused_with_the_reason(api):
    _refused(
        api,
        "txt2img",
        TXT2IMG | {"batch_count": 100, "batch_size": 16, "width": 4096, "height": 4096, "steps": 500},
        "a batch of 16 at 4096x4096",
    )
    _refused(api, "txt2img", TXT2IMG | {"batch_count": 100, "batch_size": 16, "steps": 500}, "1600 images", "100,000")
    _refused(
        api,
        "train",
        {"base_model": "a.safetensors", "steps": 100_000, "batch_size": 64, "resolution": 2048, "output_name": "t"},
        "image-steps",
    )
    _refused(
        api,
        "train",
        {
            "base_model": "a.safetensors",
            "steps": 10_000,
            "sample_every": 1,
            "sample_prompts": ["a"] * 4,
            "output_name": "t",
        },
        "sample less often",
    )


def test_job_listings_are_summaries_and_the_job_has_its_params(api):
    made = [api.post("/jobs", json={"kind": "merge", "params": merge_params(f"ok-{i}")}).json() for i in range(5)]
    for job in made:
        wait_for(api, job["job_id"])
    page = api.get("/jobs").json()
    assert len(page["jobs"]) == 5 and all("params" not in job for job in page["jobs"])
    assert {"job_id", "kind", "name", "status", "progress", "outputs"} <= set(page["jobs"][0])
    assert api.get(f"/jobs/{made[0]['job_id']}").json()["params"] == merge_params("ok-0")
    assert len(json.dumps(page)) < 20_000


@pytest.mark.parametrize(
    "params,field",
    [
        (TXT2IMG | {"steps": "20"}, "params.steps"),
        (TXT2IMG | {"steps": 20.0}, "params.steps"),
        (TXT2IMG | {"seed": True}, "params.seed"),
        (TXT2IMG | {"half": "true"}, "params.half"),
        (TXT2IMG | {"width": "512"}, "params.width"),
        (TXT2IMG | {"loras": [{"name": "Lora/x.safetensors", "weight": "0.5"}]}, "params.loras.0.weight"),
    ],
)
def test_params_are_typed_strictly(api, params, field):
    _refused(api, "txt2img", params, field)


def test_a_float_field_takes_a_json_integer(api):
    answer = api.post("/jobs", json={"kind": "txt2img", "params": TXT2IMG | {"cfg_scale": 7}})
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    "body,field",
    [
        ({"type": "Lora", "filename": "x.ckpt", "size": "5"}, "size"),
        ({"type": "Lora", "filename": "x.ckpt", "size": 5.0}, "size"),
        ({"type": "Lora", "filename": "x.ckpt", "size": 5, "overwrite": "true"}, "overwrite"),
        ({"type": "Lora", "filename": 5, "size": 5}, "filename"),
    ],
)
def test_upload_bodies_are_typed_strictly(api, body, field):
    answer = api.post("/uploads", json=body)
    assert answer.status_code == 422 and field in answer.json()["message"], answer.text
