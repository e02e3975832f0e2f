"""The local runner: process-group cancel, the concurrency limit, and recovery after a restart."""

from __future__ import annotations

import subprocess
import sys

import httpx

from sam_app.adapters.local.job_secrets import LocalJobSecrets
from sam_app.adapters.local.jobs_db import SqliteJobRecords
from sam_app.adapters.local.process_group import alive
from sam_app.adapters.local.sqlite_db import SqliteDb
from sam_app.core.jobs_ports import JobInput, JobRecord
from sam_app.core.jobs_service import new_job_id
from tests.support.jobs_api import merge_params, wait_for, wait_until


def submit(api, name: str) -> str:
    answer = api.post("/jobs", json={"kind": "merge", "params": merge_params(name)})
    assert answer.status_code == 201, answer.text
    return answer.json()["job_id"]


def workdir(tmp_path, job_id):
    return tmp_path / "data" / "jobs" / job_id


def test_cancel_stops_the_whole_process_group(api, tmp_path):
    job_id = submit(api, "tree-1")
    pids_file = workdir(tmp_path, job_id) / "pids.txt"
    assert wait_until(pids_file.exists)
    assert wait_for(api, job_id, ("RUNNING",))["status"] == "RUNNING"
    parent, child = map(int, pids_file.read_text().split())
    assert alive(parent) and alive(child)

    assert api.post(f"/jobs/{job_id}/cancel").json()["status"] == "CANCELLED"
    assert wait_until(lambda: not alive(parent) and not alive(child))
    # The status turned final at the cancel, before the group was stopped: the log is complete
    # only once the runner has noted the stop, so a follower never stops short of that line.
    assert wait_until(lambda: api.get(f"/jobs/{job_id}/logs").json()["complete"])
    log = api.get(f"/jobs/{job_id}/logs").json()
    assert log["lines"][-1] == "[sdaws] cancelled; the process group was stopped"
    assert wait_for(api, job_id)["status"] == "CANCELLED"


def test_a_cancelled_jobs_log_is_not_complete_before_the_stop_is_noted(api, tmp_path, monkeypatch):
    import threading

    from sam_app.adapters.local import job_runner

    stopping = threading.Event()  # holds the runner between the process's end and its note
    real_kill_group = job_runner.kill_group
    monkeypatch.setattr(job_runner, "kill_group", lambda pid: (stopping.wait(30), real_kill_group(pid)))
    job_id = submit(api, "tree-2")
    assert wait_for(api, job_id, ("RUNNING",))["status"] == "RUNNING"
    assert api.post(f"/jobs/{job_id}/cancel").json()["status"] == "CANCELLED"
    early = api.get(f"/jobs/{job_id}/logs").json()
    # Nothing more to read right now (at_end), yet not complete: the runner still holds the log.
    assert early["job"]["status"] == "CANCELLED" and early["at_end"] and not early["complete"]
    stopping.set()
    assert wait_until(lambda: api.get(f"/jobs/{job_id}/logs").json()["complete"])
    assert api.get(f"/jobs/{job_id}/logs").json()["lines"][-1] == "[sdaws] cancelled; the process group was stopped"


def test_a_follower_of_a_cancelled_job_reads_on_to_the_stop_note(start_server, monkeypatch):
    import threading

    from sam_app.adapters.local import job_runner
    from sdaws.client import job_follow
    from sdaws.client.api import ApiClient
    from tests.support.jobs_api import TOKEN

    stopping = threading.Event()  # holds the runner between the process's end and its note
    real_kill_group = job_runner.kill_group
    monkeypatch.setattr(job_runner, "kill_group", lambda pid: (stopping.wait(30), real_kill_group(pid)))
    monkeypatch.setattr(job_follow, "LATE_POLLS", 10_000)  # the hold below, not the bound, is under test
    handle, api = start_server()
    job_id = submit(api, "tree-3")
    assert wait_for(api, job_id, ("RUNNING",))["status"] == "RUNNING"
    finals, lines, followed = [], [], {}

    def shown(update) -> None:
        lines.extend(update.lines)
        finals.append(update.final)

    def follow() -> None:
        with ApiClient(handle.url, TOKEN) as client:
            followed["job"] = job_follow.follow_job(client, job_id, shown, interval=0.05)

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    assert api.post(f"/jobs/{job_id}/cancel").json()["status"] == "CANCELLED"
    assert wait_until(lambda: finals.count(True) >= 2)
    assert "job" not in followed  # final, but its log is not complete: it reads on
    stopping.set()
    follower.join(30)
    assert followed["job"]["status"] == "CANCELLED"
    assert lines[-1] == "[sdaws] cancelled; the process group was stopped"


def test_one_job_at_a_time_by_default_and_queued_cancel(api, tmp_path):
    first, second, third = submit(api, "block-a"), submit(api, "block-b"), submit(api, "tree-c")
    assert wait_for(api, first, ("RUNNING",))["status"] == "RUNNING"
    assert api.get(f"/jobs/{second}").json()["status"] == "QUEUED"
    assert api.post(f"/jobs/{third}/cancel").json()["status"] == "CANCELLED"

    (workdir(tmp_path, first) / "release").touch()
    assert wait_for(api, first)["status"] == "SUCCEEDED"
    assert wait_for(api, second, ("RUNNING",))["status"] == "RUNNING"
    (workdir(tmp_path, second) / "release").touch()
    assert wait_for(api, second)["status"] == "SUCCEEDED"
    # The cancelled queued job never started.
    assert not workdir(tmp_path, third).exists()
    assert api.get(f"/jobs/{third}").json()["status"] == "CANCELLED"


def test_concurrency_limit_is_configurable(start_server, tmp_path):
    _, api = start_server(max_local_jobs=2)
    jobs = [submit(api, f"block-{i}") for i in range(2)]
    for job_id in jobs:
        assert wait_for(api, job_id, ("RUNNING",))["status"] == "RUNNING"
    for job_id in jobs:
        (workdir(tmp_path, job_id) / "release").touch()
        assert wait_for(api, job_id)["status"] == "SUCCEEDED"


def _record(status: str, output_name: str, pid: int | None = None) -> JobRecord:
    params = merge_params(output_name)
    return JobRecord(
        job_id=new_job_id(),
        kind="merge",
        name=output_name,
        status=status,
        params=params,
        spec=params | {"model_a": "a.safetensors"},
        inputs=[
            JobInput("model_a", "Stable-diffusion/a.safetensors"),
            JobInput("model_b", "Stable-diffusion/b.safetensors"),
        ],
        created_at="2026-01-01T00:00:00+00:00",
        updated_at="2026-01-01T00:00:00+00:00",
        launch={"pid": pid} if pid else {},
    )


def test_restart_fails_orphans_keeps_their_logs_and_runs_queued_jobs(start_server, tmp_path):
    data = tmp_path / "data"
    records = SqliteJobRecords(SqliteDb(data / "sdaws.sqlite3"))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = _record("RUNNING", "dead", pid=gone.pid)
    starting = _record("STARTING", "starting")
    live = _record("RUNNING", "live")
    # A job process the previous server left behind, still running in its own group.
    orphan = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", live.job_id], start_new_session=True
    )
    live.launch = {"pid": orphan.pid}
    queued = _record("QUEUED", "ok-after-restart")
    for record in (dead, starting, live, queued):
        records.put_new(record)
    (data / "jobs" / dead.job_id).mkdir(parents=True)
    (data / "jobs" / dead.job_id / "job.log").write_text("step 1 of 10\n")
    # An import's token waits in its config folder (sam_app/adapters/local/job_secrets.py).
    for record in (dead, queued):
        LocalJobSecrets(data / "jobs").put(record.job_id, "import_token", "secret-token-0123456789")

    _, api = start_server()
    for record in (dead, starting, live):
        job = api.get(f"/jobs/{record.job_id}").json()
        assert job["status"] == "FAILED" and job["error"] == "server restarted while the job ran"
    orphan.wait(timeout=30)  # killed by the new server
    assert not alive(orphan.pid)
    log = api.get(f"/jobs/{dead.job_id}/logs").json()
    assert log["lines"] == ["step 1 of 10", "[sdaws] server restarted while the job ran; marked FAILED"]
    assert log["complete"] is True
    assert wait_for(api, queued.job_id)["status"] == "SUCCEEDED"
    tokens = sorted(p.parent.parent.parent.name for p in (data / "jobs").rglob("import_token"))
    assert tokens == []  # the dead job's at the restart, the queued one's when it ended


def test_a_second_server_on_the_same_data_leaves_running_jobs_alone(start_server, tmp_path):
    _, first = start_server()
    job_id = submit(first, "block-shared")
    assert wait_for(first, job_id, ("RUNNING",))["status"] == "RUNNING"
    _, second = start_server()  # e.g. the TUI's embedded server beside `sdaws serve`
    assert second.get(f"/jobs/{job_id}").json()["status"] == "RUNNING"
    (workdir(tmp_path, job_id) / "release").touch()
    assert wait_for(second, job_id)["status"] == "SUCCEEDED"


def test_a_result_never_overwrites_a_model_that_appeared_meanwhile(api, models_dir, tmp_path):
    # Both pass the submit-time name check: neither result exists yet.
    first, second = submit(api, "block-same"), submit(api, "block-same")
    for job_id in (first, second):
        assert wait_for(api, job_id, ("RUNNING",))["status"] == "RUNNING"
        (workdir(tmp_path, job_id) / "release").touch()
        assert wait_for(api, job_id)["status"] == "SUCCEEDED"
    assert (models_dir / "Stable-diffusion" / "block-same.safetensors").read_bytes() == first.encode()
    (kept,) = api.get(f"/jobs/{second}").json()["outputs"]
    assert kept["key"] == f"job-outputs/{second}/Stable-diffusion/block-same.safetensors"
    assert httpx.get(api.get(f"/jobs/{second}/outputs").json()["outputs"][0]["url"]).content == second.encode()
    assert (
        "[sdaws] Stable-diffusion/block-same.safetensors already exists in the tree; this result stays with the job"
        in (api.get(f"/jobs/{second}/logs").json()["lines"])
    )
