"""Property-based run: schemathesis drives the local server from sam_app/openapi.json,
then the generated hostile corpus (safetensors headers, names, bodies) goes to the same
server.

The server counts what it answered, so the test proves the run really sent at least
1,500 requests and that none of them got a 5xx (nor an exception in the app), and that
the very same server (thread, socket) answered to the end: nothing restarted.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import requests

from tests.support.api_world import AUTH, TOKEN
from tests.support.env import REPO_ROOT, need
from tests.support.hostile_inputs import hostile_bodies, hostile_names, hostile_safetensors
from tests.support.safetensors_files import write_safetensors

EXAMPLES_PER_OPERATION = 60


def counting(dispatcher, answered: Counter):
    def dispatch(event):
        try:
            response = dispatcher(event)
        except Exception:
            answered["exception"] += 1
            raise
        answered[int(response["statusCode"])] += 1
        return response

    return dispatch


def test_schemathesis_finds_no_server_error(api_server, tmp_path):
    st = Path(sys.executable).parent / "st"
    need(st.exists() or shutil.which("st"), "schemathesis CLI (st) is not installed")
    models = tmp_path / "models"
    write_safetensors(models / "Stable-diffusion" / "base.safetensors", {"w": ("F16", [4, 4])})
    write_safetensors(models / "Lora" / "style.safetensors", {"w": ("F32", [2])})
    answered: Counter = Counter()
    listening = api_server.server.socket.fileno()
    app = api_server.server.dispatcher
    api_server.server.dispatcher = counting(app, answered)

    run = subprocess.run(
        [
            str(st),
            "run",
            str(REPO_ROOT / "sam_app" / "openapi.json"),
            "--url",
            api_server.url,
            "--header",
            f"x-api-key: {TOKEN}",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            "20261123",
            "--no-shrink",
            "--workers",
            "1",  # hypothesis lambda reflection is not thread-safe on 3.11
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,  # schemathesis keeps a .schemathesis/ folder in its working directory
    )
    summary = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, summary
    total = sum(answered.values())
    assert total >= 1500, f"only {total} requests reached the server: {dict(answered)}\n{summary}"
    assert answered["exception"] == 0
    assert not [status for status in answered if isinstance(status, int) and status >= 500], dict(answered)
    print(f"schemathesis: {total} requests answered by the server: {dict(sorted(answered.items(), key=str))}")

    hostile: Counter = Counter()
    api_server.server.dispatcher = counting(app, hostile)
    _send_hostile_corpus(api_server, models)
    assert hostile["exception"] == 0 and sum(hostile.values()) > 150
    assert not [status for status in hostile if isinstance(status, int) and status >= 500], dict(hostile)
    print(f"hostile corpus: {sum(hostile.values())} requests: {dict(sorted(hostile.items(), key=str))}")
    assert api_server.thread.is_alive() and api_server.server.socket.fileno() == listening, "the server restarted"
    assert requests.get(f"{api_server.url}/ping", headers=AUTH).status_code == 200


def _send_hostile_corpus(api_server, models) -> None:
    with requests.Session() as session:
        for case, data in hostile_safetensors().items():
            name = "".join(c if c.isalnum() else "_" for c in case) + ".safetensors"
            for folder in ("Stable-diffusion", "Lora"):
                (models / folder / name).write_bytes(data)
                session.get(f"{api_server.url}/models/{folder}/{quote(name)}", headers=AUTH)
        for name in hostile_names():
            session.post(f"{api_server.url}/uploads", json={"type": "Lora", "filename": name, "size": 5}, headers=AUTH)
            session.get(f"{api_server.url}/models/Lora/{quote(name, safe='')}", headers=AUTH)
        for body in hostile_bodies().values():
            for route in ("/uploads", "/jobs", "/job-inputs"):
                session.post(f"{api_server.url}{route}", data=body, headers=AUTH | {"Content-Type": "application/json"})
