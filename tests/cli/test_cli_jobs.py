"""`sdaws generate|jobs ...` as a subprocess against the real local server running tiny CPU jobs."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from tests.support.job_server import TOKEN
from tests.support.tiny_cli import TINY_IMAGE, solid_image
from tests.support.tui_env import Server, run_sdaws

pytestmark = [pytest.mark.torch, pytest.mark.slow]


@pytest.fixture
def api(job_server, user_env) -> Server:
    handle, models = job_server
    return Server(handle.url, TOKEN, models, models.parent / "data", handle)


def test_generate_waits_saves_images_and_jobs_show_and_ls_report_it(api, tmp_path):
    out = tmp_path / "out"
    result = run_sdaws(
        api,
        "generate",
        "a lighthouse",
        *TINY_IMAGE,
        "--seed",
        "11",
        "--wait",
        "--out",
        str(out),
        "--json",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    job = report["job"]
    assert job["status"] == "SUCCEEDED" and job["params"]["seed"] == 11
    (saved,) = report["saved"]
    with Image.open(saved) as image:
        assert image.size == (32, 32) and "a lighthouse" in image.info["parameters"]

    shown = json.loads(run_sdaws(api, "jobs", "show", job["job_id"], "--json").stdout)
    assert shown["job_id"] == job["job_id"] and shown["outputs"]
    listed = json.loads(run_sdaws(api, "jobs", "ls", "--kind", "txt2img", "--json").stdout)
    assert job["job_id"] in [j["job_id"] for j in listed["jobs"]]
    human = run_sdaws(api, "jobs", "ls")
    assert job["job_id"] in human.stdout and "SUCCEEDED" in human.stdout


def test_img2img_from_a_local_image_and_watch_streams_the_log(api, tmp_path):
    source = solid_image(tmp_path / "start.png", "green")
    submitted = run_sdaws(
        api, "generate", "a green field", *TINY_IMAGE, "--init-image", str(source), "--strength", "0.5"
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    watched = run_sdaws(api, "jobs", "watch", job_id, "--interval", "0.5", timeout=600)
    assert watched.returncode == 0, watched.stderr
    assert "[SUCCEEDED]" in watched.stderr and "denoising" in watched.stdout


def test_cancel_a_queued_or_running_job(api):
    submitted = run_sdaws(
        api, "generate", "slow", "--model", "tiny-sd", "--steps", "500", "--width", "32", "--height", "32", "--json"
    )
    job_id = json.loads(submitted.stdout)["job_id"]
    cancelled = run_sdaws(api, "jobs", "cancel", job_id, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    watched = run_sdaws(api, "jobs", "watch", job_id, "--json", "--interval", "0.5", timeout=300)
    assert watched.returncode == 1  # not a success: scripts can tell
    assert json.loads(watched.stdout)["job"]["status"] == "CANCELLED"


def test_bad_job_input_is_a_usage_error_before_anything_is_sent(api):
    result = run_sdaws(api, "generate", "x", "--model", "tiny-sd", "--width", "33")
    assert result.returncode == 2 and "multiple of 8" in result.stderr and "Traceback" not in result.stderr
    result = run_sdaws(api, "jobs", "show", "no-such-job")
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_watch_out_on_a_job_whose_output_is_a_folder_reports_it_in_the_tree(api, tmp_path):
    job = api.client().submit_job("convert", {"model": "alpha.safetensors", "output_name": "alpha-watched"})
    out = tmp_path / "out"
    watched = run_sdaws(api, "jobs", "watch", job["job_id"], "--interval", "0.5", "--out", str(out), timeout=600)
    assert watched.returncode == 0, watched.stderr
    assert "Traceback" not in watched.stderr
    assert "in the model tree: diffusers/alpha-watched" in watched.stdout
    assert not out.exists() or not any(out.iterdir())  # nothing half-downloaded beside it


def test_a_cancelled_generate_wait_says_cancelled(api):
    import subprocess
    import time

    from tests.support.tui_env import SDAWS

    waiting = subprocess.Popen(
        [
            str(SDAWS),
            "generate",
            "slow",
            "--model",
            "tiny-sd",
            "--steps",
            "500",
            "--width",
            "32",
            "--height",
            "32",
            "--name",
            "cancel-me-while-waiting",
            "--wait",
            "--api",
            api.url,
            "--token",
            api.token,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    client = api.client()
    deadline = time.monotonic() + 120  # a deadline for a hung submit, not a timing assertion
    jobs = []
    while not jobs and time.monotonic() < deadline:
        jobs = [
            j
            for j in client.list_jobs(kind="txt2img")["jobs"]
            if j.get("name") == "cancel-me-while-waiting" and j["status"] not in ("SUCCEEDED", "FAILED", "CANCELLED")
        ]
        time.sleep(0.2)
    assert jobs, "the job was never submitted"
    client.cancel_job(jobs[0]["job_id"])
    _, stderr = waiting.communicate(timeout=300)
    assert waiting.returncode == 1
    assert "was cancelled" in stderr and "Traceback" not in stderr


def test_training_from_a_hub_repo_while_offline_fails_in_one_line(api, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the job process inherits it from the server's
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    Image.new("RGB", (32, 32), "red").save(dataset / "a.png")
    result = run_sdaws(
        api,
        "train",
        str(dataset),
        "--model",
        "someorg/somemodel",
        "--output",
        "offline-lora",
        "--steps",
        "1",
        "--resolution",
        "32",
        "--wait",
        timeout=600,
    )
    assert result.returncode == 1
    (reason,) = [line for line in result.stderr.splitlines() if "failed" in line]
    assert "cannot reach the Hugging Face hub; is HF_HUB_OFFLINE set or the model cached?" in reason
    assert "Traceback" not in result.stderr
