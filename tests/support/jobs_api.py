"""Fixtures: a model tree with two small checkpoints, and the real local server on loopback."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.scripted_jobs import scripted_command

TOKEN = "jobs-test-token-0123456789abcdef"
AUTH = {"x-api-key": TOKEN}
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


@pytest.fixture
def models_dir(tmp_path):
    folder = tmp_path / "models" / "Stable-diffusion"
    folder.mkdir(parents=True)
    (folder / "a.safetensors").write_bytes(b"a" * 16)
    (folder / "b.safetensors").write_bytes(b"b" * 16)
    return tmp_path / "models"


@pytest.fixture
def start_server(tmp_path, models_dir):
    """start(**options) -> (handle, client); every server started is stopped afterwards."""
    from sam_app.local_server.server import serve_in_thread

    started = []

    def start(**options):
        options.setdefault("job_command", scripted_command)
        handle = serve_in_thread(models_dir, tmp_path / "data", TOKEN, **options)
        client = httpx.Client(base_url=handle.url, headers=AUTH, timeout=30)
        started.append((handle, client))
        return handle, client

    yield start
    for handle, client in started:
        client.close()
        handle.stop()


@pytest.fixture
def api(start_server):
    return start_server()[1]


def merge_params(output_name: str, **extra) -> dict:
    return {
        "model_a": "Stable-diffusion/a.safetensors",
        "model_b": "b.safetensors",
        "output_name": output_name,
        **extra,
    }


def wait_for(client: httpx.Client, job_id: str, statuses=FINAL, deadline_s: float = 120) -> dict:
    """Poll until the job reaches one of `statuses` (the deadline only stops a hung test)."""
    end = time.monotonic() + deadline_s
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if job["status"] in statuses or time.monotonic() > end:
            return job
        time.sleep(0.05)


def wait_until(predicate, deadline_s: float = 60) -> bool:
    end = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


ORDER = ("QUEUED", "STARTING", "RUNNING", "SUCCEEDED")


def watch(client: httpx.Client, job_id: str, first_status: str, deadline_s: float = 300) -> tuple[dict, list[str]]:
    """Follow a job to its end; returns (final job, the statuses seen in order)."""
    seen = [first_status]
    end = time.monotonic() + deadline_s
    while seen[-1] not in FINAL and time.monotonic() < end:
        time.sleep(0.05)
        status = client.get(f"/jobs/{job_id}").json()["status"]
        if status != seen[-1]:
            seen.append(status)
    return client.get(f"/jobs/{job_id}").json(), seen


def only_forward(seen: list[str]) -> bool:
    ranks = [ORDER.index(s) if s in ORDER else len(ORDER) for s in seen]
    return ranks == sorted(set(ranks))
