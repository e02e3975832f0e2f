"""A job never outlives the server that owns it, and leaves no scratch behind.

The server runs in its own process here so it can be killed with SIGKILL, as a crash
or the OOM killer would: the job and the child it started must die with it (their
guard follows the server's death). Scratch space — TMPDIR, where jobs convert models
for one run — lives under the job's folder in the data dir and is removed when the job
ends, is cancelled, or, after a crash, when the server starts again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from sam_app.adapters.local.process_group import alive
from tests.support.env import REPO_ROOT
from tests.support.jobs_api import AUTH, TOKEN, merge_params, wait_for, wait_until

SERVER = """
import sys
from pathlib import Path
from sam_app.local_server.server import LocalApiServer
from tests.support.scripted_jobs import scripted_command
server = LocalApiServer(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], job_command=scripted_command)
print(server.url, flush=True)
server.serve_forever()
"""


def _serve(models_dir: Path, data_dir: Path) -> tuple[subprocess.Popen, httpx.Client]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(models_dir), str(data_dir), TOKEN],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    url = proc.stdout.readline().strip()
    assert url.startswith("http://"), url
    return proc, httpx.Client(base_url=url, headers=AUTH, timeout=30)


def _submit(api: httpx.Client, name: str) -> str:
    answer = api.post("/jobs", json={"kind": "merge", "params": merge_params(name)})
    assert answer.status_code == 201, answer.text
    return answer.json()["job_id"]


def _scratch_facts(data_dir: Path, job_id: str) -> dict:
    facts = data_dir / "jobs" / job_id / "scratch.json"
    assert wait_until(facts.exists), "the job never started"
    return json.loads(facts.read_text())


def test_a_killed_server_takes_its_job_and_the_jobs_children_along(tmp_path, models_dir):
    data_dir = tmp_path / "data"
    proc, api = _serve(models_dir, data_dir)
    try:
        job_id = _submit(api, "scratch-crash")
        facts = _scratch_facts(data_dir, job_id)
        job, child = facts["pids"]
        assert alive(job) and alive(child)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert wait_until(lambda: not alive(job) and not alive(child), 30), "the job outlived its server"
    finally:
        api.close()
        if proc.poll() is None:
            proc.kill()
    scratch = Path(facts["scratch"])
    assert scratch.is_relative_to(data_dir / "jobs" / job_id / "scratch"), "scratch lives under the data dir"
    assert scratch.exists(), "the crash left it (as it would)"

    proc, api = _serve(models_dir, data_dir)
    try:
        assert api.get(f"/jobs/{job_id}").json()["status"] == "FAILED"
        assert not (data_dir / "jobs" / job_id / "scratch").exists(), "the restart removed the crash's scratch"
    finally:
        api.close()
        proc.terminate()
        proc.wait(timeout=10)


def test_scratch_goes_when_a_job_ends_or_is_cancelled(api, tmp_path):
    data_dir = tmp_path / "data"
    finished = _submit(api, "scratch-done")
    facts = _scratch_facts(data_dir, finished)
    places = {k: Path(v) for k, v in facts["places"].items()}
    assert places["TMPDIR"].resolve() == (data_dir / "jobs" / finished / "scratch").resolve()
    assert places["TORCHINDUCTOR_CACHE_DIR"].is_relative_to(data_dir) and places["TRITON_CACHE_DIR"].is_relative_to(
        data_dir
    )
    (data_dir / "jobs" / finished / "release").touch()
    assert wait_for(api, finished)["status"] == "SUCCEEDED"
    assert not Path(facts["scratch"]).exists() and not (data_dir / "jobs" / finished / "scratch").exists()

    cancelled = _submit(api, "scratch-cancel")
    facts = _scratch_facts(data_dir, cancelled)
    assert api.post(f"/jobs/{cancelled}/cancel").json()["status"] == "CANCELLED"
    assert wait_until(lambda: not (data_dir / "jobs" / cancelled / "scratch").exists())
    assert wait_until(lambda: not any(alive(pid) for pid in facts["pids"]))
