"""Driving WebUI-parity jobs through the local server's HTTP API, as a client does."""

from __future__ import annotations

import io

import httpx
import numpy as np

from tests.support.jobs_api import only_forward, watch


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def upload_input(api: httpx.Client, filename: str, data: bytes, group: str | None = None) -> str:
    """POST /job-inputs, PUT the bytes; returns the key a job's params name."""
    body = {"filename": filename, "size": len(data), **({"group": group} if group else {})}
    slot = api.post("/job-inputs", json=body)
    assert slot.status_code == 201, slot.text
    assert httpx.put(slot.json()["url"], content=data).status_code == 200
    return slot.json()["key"]


def submit(api: httpx.Client, kind: str, params: dict) -> httpx.Response:
    return api.post("/jobs", json={"kind": kind, "params": params})


def run(api: httpx.Client, kind: str, params: dict, status: str = "SUCCEEDED") -> dict:
    created = submit(api, kind, params)
    assert created.status_code == 201, created.text
    job, seen = watch(api, created.json()["job_id"], created.json()["status"])
    assert job["status"] == status, (job.get("error"), api.get(f"/jobs/{job['job_id']}/logs").json()["lines"][-30:])
    assert only_forward(seen)
    return job


def outputs(api: httpx.Client, job: dict, type_: str = "images") -> list[dict]:
    listed = api.get(f"/jobs/{job['job_id']}/outputs").json()["outputs"]
    return [o for o in listed if o["type"] == type_]


def downloads(api: httpx.Client, job: dict, type_: str = "images") -> list[bytes]:
    return [httpx.get(o["url"]).content for o in outputs(api, job, type_)]


def open_png(data: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(open_png(data).convert("RGB")).astype(np.int16)


def log_events(api: httpx.Client, job: dict) -> list[dict]:
    """The progress-protocol events in the job's log, in the order the job printed them."""
    from sdaws.contract.progress import parse_line

    lines = api.get(f"/jobs/{job['job_id']}/logs", params={"limit": 5000}).json()["lines"]
    return [e for e in map(parse_line, lines) if e is not None]
