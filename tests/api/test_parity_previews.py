"""Live previews every N steps as output events, through the local server's API: TAESD from
VAE-approx/ when present, else the WebUI's cheap latent-to-RGB approximation (CPU)."""

from __future__ import annotations

import shutil
import time

import pytest

from sam_app.adapters.local.job_runner import job_command
from tests.support.env import need, torch_available
from tests.support.parity import downloads, log_events, open_png, run, submit

pytestmark = [pytest.mark.torch, pytest.mark.slow]

SIZE = 64
PARAMS = {
    "prompt": "a boat",
    "steps": 4,
    "seed": 2,
    "width": SIZE,
    "height": SIZE,
    "batch_size": 2,
    "model": "diffusers/tiny8",
    "preview_every": 2,
}


@pytest.fixture(scope="module")
def tiny8(tmp_path_factory):
    need(torch_available(), "torch and diffusers are needed for generation jobs")
    from tests.support.tiny_models import save_pipeline

    return save_pipeline(tmp_path_factory.mktemp("built") / "tiny8", vae_levels=4)


@pytest.fixture
def api(start_server, models_dir, tiny8):
    shutil.copytree(tiny8, models_dir / "diffusers" / "tiny8")
    return start_server(job_command=job_command)[1]


def _check_previews_stream_before_the_images(api, job) -> list[dict]:
    events = log_events(api, job)
    kinds = [(e["event"], e.get("type")) for e in events]
    previews = [e for e in events if e.get("type") == "previews"]
    first_image = kinds.index(("output", "images"))
    # Written while it denoised: every preview is announced before the first finished image.
    assert previews and all(events.index(p) < first_image for p in previews)
    assert sorted({p["step"] for p in previews}) == [2, 4]  # every 2 of the 4 steps
    assert sorted(p["image"] for p in previews) == [0, 0, 1, 1]  # one per image of the batch
    return previews


def test_without_taesd_previews_are_the_cheap_approximation_at_latent_size(api):
    job = run(api, "txt2img", PARAMS)
    _check_previews_stream_before_the_images(api, job)
    pngs = downloads(api, job, "previews")  # kept with the job afterwards
    assert len(pngs) == 4 and all(open_png(p).size == (SIZE // 8, SIZE // 8) for p in pngs)


def test_taesd_decoder_in_vae_approx_gives_full_size_previews(api, models_dir):
    import torch

    from tests.support.parity_models import taesd_decoder_state

    (models_dir / "VAE-approx").mkdir()
    torch.save(taesd_decoder_state(), str(models_dir / "VAE-approx" / "taesd_decoder.pth"))  # a pickle, as published
    job = run(api, "txt2img", PARAMS)
    _check_previews_stream_before_the_images(api, job)
    pngs = downloads(api, job, "previews")
    assert len(pngs) == 4 and all(open_png(p).size == (SIZE, SIZE) for p in pngs)
    (image,) = downloads(api, job)[:1]
    assert open_png(image).size == (SIZE, SIZE)


def test_previews_download_while_the_job_still_runs(api):
    import httpx

    created = submit(api, "txt2img", PARAMS | {"steps": 120, "preview_every": 1, "batch_size": 1})
    assert created.status_code == 201, created.text
    job_id = created.json()["job_id"]
    seen_running = None
    while seen_running is None:
        time.sleep(0.05)
        status = api.get(f"/jobs/{job_id}").json()["status"]
        previews = [o for o in api.get(f"/jobs/{job_id}/outputs").json()["outputs"] if o["type"] == "previews"]
        if status in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        if status == "RUNNING" and previews:
            seen_running = httpx.get(previews[0]["url"])  # fetched before the job ended
    assert seen_running is not None, "the job ended before any preview was listed"
    assert seen_running.status_code == 200 and open_png(seen_running.content).size == (SIZE // 8, SIZE // 8)
    api.post(f"/jobs/{job_id}/cancel")
