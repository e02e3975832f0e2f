"""Training at kohya/WebUI parity through the local server's API: aspect-ratio buckets,
.txt/.caption captions with shuffling, intermediate checkpoints and resuming (tiny SD1, CPU)."""

from __future__ import annotations

import pytest

from tests.support.jobs_api import wait_for
from tests.support.parity import log_events, png_bytes, run, submit, upload_input

pytestmark = [pytest.mark.torch, pytest.mark.slow]


@pytest.fixture
def api(tiny_api):
    return tiny_api


@pytest.fixture
def dataset(api):
    from PIL import Image

    images = {"wide": (64, 16), "tall": (16, 64), "square": (40, 40)}
    for i, (name, size) in enumerate(images.items()):
        upload_input(api, f"{name}.png", png_bytes(Image.new("RGB", size, (60 * i, 80, 200))), group="buckets")
    upload_input(api, "wide.txt", b"sks, wide, red", group="buckets")
    upload_input(api, "tall.caption", b"sks, tall, green", group="buckets")  # square.png: the default caption
    return "buckets"


PARAMS = {
    "base_model": "diffusers/tiny",
    "steps": 4,
    "resolution": 32,
    "rank": 2,
    "alpha": 2.0,
    "seed": 9,
    "enable_bucket": True,
    "min_bucket_reso": 16,
    "max_bucket_reso": 64,
    "bucket_reso_steps": 16,
    "shuffle_caption": True,
    "keep_tokens": 1,
    "default_caption": "sks, square",
}


def _metadata(path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return f.metadata()


def test_buckets_captions_intermediate_checkpoints_and_resume(api, models_dir, dataset):
    job = run(api, "train", PARAMS | {"dataset": dataset, "save_every_n_steps": 2, "output_name": "cat"})
    events = log_events(api, job)
    messages = [e["message"] for e in events if e["event"] == "progress"]
    assert "3 training images in 3 bucket(s), seed 9" in messages  # 64x16, 16x64 and 32x32
    saved = [e for e in events if e["event"] == "output" and e["type"] == "Lora"]
    assert [(e["name"], e["step"]) for e in saved] == [("cat-step00000002.safetensors", 2), ("cat.safetensors", 4)]
    # The intermediate checkpoint was announced before the training went on. Progress lines
    # are throttled (one per 0.5 s, the last always sent), so the next one may be step 3 or 4.
    steps_after = [e for e in events[events.index(saved[0]) :] if e["event"] == "progress" and e["total"] == 4]
    assert steps_after and steps_after[0]["step"] > saved[0]["step"]
    keys = sorted(o["key"] for o in job["outputs"])
    assert keys == ["Lora/cat-step00000002.safetensors", "Lora/cat.safetensors"]  # both registered in the tree
    assert _metadata(models_dir / "Lora" / "cat-step00000002.safetensors")["sdaws_train_step"] == "2"

    resumed = run(
        api,
        "train",
        PARAMS | {"dataset": dataset, "resume_from": "Lora/cat-step00000002.safetensors", "output_name": "cat-resumed"},
    )
    events = log_events(api, resumed)
    assert any(e.get("message") == "resuming from step 2 (cat-step00000002.safetensors)" for e in events)
    counted = [e["step"] for e in events if e["event"] == "progress" and e["total"] == 4]
    assert counted and min(counted) >= 3 and counted[-1] == 4  # steps 1-2 are not trained again
    assert _metadata(models_dir / "Lora" / "cat-resumed.safetensors")["sdaws_train_step"] == "4"


def test_resume_refuses_a_file_it_cannot_continue(api, models_dir, dataset):
    from safetensors.torch import save_file

    (models_dir / "Lora").mkdir()
    save_file(
        {"lora_unet_x.lora_down.weight": __import__("torch").zeros(1, 1)},
        str(models_dir / "Lora" / "foreign.safetensors"),
    )
    job = run(
        api,
        "train",
        PARAMS | {"dataset": dataset, "resume_from": "foreign.safetensors", "output_name": "x"},
        status="FAILED",
    )
    assert "not saved by an sdaws training" in job["error"]
    answer = submit(api, "train", PARAMS | {"dataset": dataset, "min_bucket_reso": 128, "output_name": "y"})
    assert answer.status_code == 422 and "min_bucket_reso must not exceed max_bucket_reso" in answer.json()["message"]


def test_a_cancelled_training_leaves_its_saved_checkpoint_in_the_tree_to_resume_from(api, models_dir, dataset):
    import time

    params = PARAMS | {"dataset": dataset, "steps": 400, "save_every_n_steps": 2, "output_name": "dog"}
    created = submit(api, "train", params)
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]
    saved = models_dir / "Lora" / "dog-step00000002.safetensors"
    while not saved.exists() and api.get(f"/jobs/{job_id}").json()["status"] in ("QUEUED", "STARTING", "RUNNING"):
        time.sleep(0.05)
    assert saved.exists() and api.get(f"/jobs/{job_id}").json()["status"] == "RUNNING"  # in the tree mid-training
    api.post(f"/jobs/{job_id}/cancel")
    assert wait_for(api, job_id)["status"] == "CANCELLED"
    assert _metadata(saved)["sdaws_train_step"] == "2"  # still there, whole, after the cancel

    resumed = run(
        api, "train", PARAMS | {"dataset": dataset, "resume_from": f"Lora/{saved.name}", "output_name": "dog-2"}
    )
    events = log_events(api, resumed)
    assert any(e.get("message") == f"resuming from step 2 ({saved.name})" for e in events)
    assert _metadata(models_dir / "Lora" / "dog-2.safetensors")["sdaws_train_step"] == "4"
