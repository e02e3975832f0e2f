"""txt2img, img2img and LoRA training through the local server's HTTP API, on a tiny converted model (CPU)."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest

from tests.support.jobs_api import only_forward, watch
from tests.support.tiny_models import quick_txt2img

pytestmark = [pytest.mark.torch, pytest.mark.slow]

PARAMS = quick_txt2img("diffusers/tiny", "a red fox", negative_prompt="blurry", cfg_scale=5.0, seed=77, batch_size=2)


@pytest.fixture
def api(tiny_api):
    return tiny_api


def run(api, kind: str, params: dict) -> dict:
    created = api.post("/jobs", json={"kind": kind, "params": params})
    assert created.status_code == 201, created.text
    job, seen = watch(api, created.json()["job_id"], created.json()["status"])
    assert job["status"] == "SUCCEEDED", api.get(f"/jobs/{job['job_id']}/logs").json()["lines"][-20:]
    assert only_forward(seen)
    return job


def images(api, job: dict) -> list[bytes]:
    outputs = api.get(f"/jobs/{job['job_id']}/outputs").json()["outputs"]
    return [httpx.get(o["url"]).content for o in outputs if o["type"] == "images"]


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        assert img.size == (32, 32)
        return np.asarray(img.convert("RGB"))


def test_txt2img_pngs_carry_parameters_and_repeat_with_the_seed(api):
    from sdaws_jobs.pngmeta import read_png_infotext, spec_fields

    first = images(api, run(api, "txt2img", PARAMS))
    assert len(first) == 2
    fields = spec_fields(read_png_infotext(io.BytesIO(first[0])))
    assert fields["prompt"] == "a red fox" and fields["seed"] == 77 and fields["steps"] == 2
    again = images(api, run(api, "txt2img", PARAMS))
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(pixels(a), pixels(b))


def test_img2img_from_an_uploaded_image(api):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, format="PNG")
    data = buffer.getvalue()
    slot = api.post("/job-inputs", json={"filename": "red.png", "size": len(data)}).json()
    assert httpx.put(slot["url"], content=data).status_code == 200
    params = {k: v for k, v in PARAMS.items() if k != "batch_size"} | {
        "init_image": slot["key"],
        "denoising_strength": 0.5,
    }
    (png,) = images(api, run(api, "img2img", params))
    assert pixels(png).shape == (32, 32, 3)


def test_lora_training_on_an_uploaded_dataset_registers_into_lora(api, models_dir):
    from PIL import Image
    from safetensors import safe_open

    for i, colour in enumerate(((220, 40, 40), (40, 40, 220))):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), colour).save(buffer, format="PNG")
        for filename, data in ((f"img{i}.png", buffer.getvalue()), (f"img{i}.txt", f"a photo of sks {i}".encode())):
            slot = api.post("/job-inputs", json={"filename": filename, "size": len(data), "group": "cats"}).json()
            assert httpx.put(slot["url"], content=data).status_code == 200
    params = {
        "base_model": "diffusers/tiny",
        "dataset": "cats",
        "steps": 2,
        "resolution": 32,
        "rank": 2,
        "alpha": 2.0,
        "seed": 3,
        "output_name": "sks",
    }
    job = run(api, "train", params)
    assert [(o["type"], o["key"]) for o in job["outputs"]] == [("Lora", "Lora/sks.safetensors")]
    with safe_open(str(models_dir / "Lora" / "sks.safetensors"), "pt") as lora:
        keys = list(lora.keys())
    assert keys and all(k.startswith("lora_unet_") for k in keys)  # kohya naming
    # The name is taken now: a second run with it is refused before anything starts.
    again = api.post("/jobs", json={"kind": "train", "params": params})
    assert again.status_code == 409 and "Lora/sks.safetensors already exists" in again.json()["message"]
