"""Property-based run: schemathesis drives the local server from sam_app/openapi.json.

The server counts what it answered, so the test proves the run really sent at least
500 requests and that none of them got a 5xx (nor an exception in the app).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.support.api_world import TOKEN
from tests.support.env import REPO_ROOT, need
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
    api_server.server.dispatcher = counting(api_server.server.dispatcher, answered)

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
    assert total >= 500, f"only {total} requests reached the server: {dict(answered)}\n{summary}"
    assert answered["exception"] == 0
    assert not [status for status in answered if isinstance(status, int) and status >= 500], dict(answered)
    print(f"schemathesis: {total} requests answered by the server: {dict(sorted(answered.items(), key=str))}")
