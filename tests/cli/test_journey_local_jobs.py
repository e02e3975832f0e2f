"""Journey: in the default local mode (nothing configured), jobs submitted from the CLI
outlive the command — generate (txt2img and img2img), train and merge without --wait,
then `sdaws jobs watch ID` later shows them succeed — and the commands in between use
that same server (the one the first command left running in the background)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from sam_app.adapters.local.process_group import alive
from tests.support.tiny_cli import TINY_IMAGE, TINY_TRAIN, captioned_dataset, solid_image
from tests.support.tui_env import run_sdaws

pytestmark = [pytest.mark.torch, pytest.mark.slow]
JOB_TIMEOUT = 900  # seconds: a deadline for a hung job on a busy 2-core box, not a timing assertion


def test_cli_jobs_survive_the_cli_and_watch_shows_them_later(local_mode, tmp_path):
    models, _ = local_mode
    submitted = run_sdaws(None, "generate", "a lighthouse", *TINY_IMAGE)
    assert submitted.returncode == 0, submitted.stderr
    generate_id = submitted.stdout.strip()
    start = solid_image(tmp_path / "start.png", "green")
    img2img = run_sdaws(None, "generate", "a green field", *TINY_IMAGE, "--init-image", str(start), "--json")
    assert img2img.returncode == 0, img2img.stderr
    img2img_id = json.loads(img2img.stdout)["job_id"]

    dataset = captioned_dataset(tmp_path / "dataset")
    train = run_sdaws(
        None, "train", str(dataset), *TINY_TRAIN, "--output", "cli-lora", "--steps", "2", "--rank", "2", "--json"
    )
    assert train.returncode == 0, train.stderr
    train_id = json.loads(train.stdout)["job_id"]
    merge = run_sdaws(None, "merge", "alpha.safetensors", "beta.safetensors", "--output", "cli-merged", "-m", "0.25")
    assert merge.returncode == 0, merge.stderr
    merge_id = merge.stdout.strip()

    # Every later command finds that server: no second one, no "another sdaws server uses …".
    listed = run_sdaws(None, "jobs", "ls")
    assert all(job_id in listed.stdout for job_id in (generate_id, img2img_id, train_id, merge_id))
    assert "another sdaws server" not in listed.stderr

    out = tmp_path / "out"
    watched = run_sdaws(None, "jobs", "watch", generate_id, "--interval", "0.5", "--out", str(out), timeout=JOB_TIMEOUT)
    assert watched.returncode == 0, watched.stderr
    assert "[SUCCEEDED]" in watched.stderr and "denoising 2/2" in watched.stdout
    assert '{"event"' not in watched.stdout  # the log reads as lines, not raw JSON
    (image,) = out.iterdir()
    with Image.open(image) as png:
        assert png.size == (32, 32) and "a lighthouse" in png.info["parameters"]

    from_image = tmp_path / "from-image"
    watched = run_sdaws(
        None, "jobs", "watch", img2img_id, "--interval", "0.5", "--out", str(from_image), timeout=JOB_TIMEOUT
    )
    assert watched.returncode == 0, watched.stderr
    assert "[SUCCEEDED]" in watched.stderr
    (image,) = from_image.iterdir()
    with Image.open(image) as png:
        assert png.size == (32, 32) and "a green field" in png.info["parameters"]

    for job_id, made in (
        (train_id, models / "Lora/cli-lora.safetensors"),
        (merge_id, models / "Stable-diffusion/cli-merged.safetensors"),
    ):
        watched = run_sdaws(None, "jobs", "watch", job_id, "--interval", "0.5", "--json", timeout=JOB_TIMEOUT)
        assert watched.returncode == 0, watched.stderr
        assert json.loads(watched.stdout)["job"]["status"] == "SUCCEEDED"
        assert made.is_file()


def test_wait_prints_progress_not_the_log_and_a_wrong_token_is_refused_locally(local_mode):
    refused = run_sdaws(None, "models", "ls", "--token", "wrong-token-for-this-machine")
    assert refused.returncode == 1 and "403" in refused.stderr and "Traceback" not in refused.stderr

    merged = run_sdaws(
        None, "merge", "alpha.safetensors", "beta.safetensors", "--output", "waited", "--wait", timeout=JOB_TIMEOUT
    )
    assert merged.returncode == 0, merged.stderr
    assert "in the model tree: Stable-diffusion/waited.safetensors" in merged.stdout
    assert '{"event"' not in merged.stdout + merged.stderr  # progress, not the raw log
    assert "[SUCCEEDED]" in merged.stderr


def test_the_background_server_goes_away_once_idle(local_mode, monkeypatch):
    import time

    _, data = local_mode
    monkeypatch.setenv("SDAWS_IDLE_EXIT_S", "2")
    submitted = run_sdaws(None, "merge", "alpha.safetensors", "beta.safetensors", "--output", "idle-test", "--json")
    assert submitted.returncode == 0, submitted.stderr
    pid = json.loads((data / "server.json").read_text())["pid"]
    watched = run_sdaws(None, "jobs", "watch", json.loads(submitted.stdout)["job_id"], "--json", timeout=JOB_TIMEOUT)
    assert json.loads(watched.stdout)["job"]["status"] == "SUCCEEDED"  # it waited for its job
    deadline = time.monotonic() + 120  # a deadline for a server that never leaves, not a timing assertion
    while (data / "server.json").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not (data / "server.json").exists()

    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(pid), f"the idle background server {pid} is still running"
