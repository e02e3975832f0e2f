"""The local JobLauncher: each job a subprocess in its own process group.

The job entrypoint (sdaws.contract.entrypoint) with `--workdir <data>/jobs/<id>` runs in a folder laid out
like SageMaker's /opt/ml (spec in input/config/, inputs linked into
input/data/<channel>/). Its stdout progress lines update the record, stdout and
stderr go to job.log, and on success results move into the model tree (model
folders, `diffusers/`) or into `job-outputs/<id>/` (images, samples). At most
`max_concurrent` jobs run at once; the rest wait in order.

A job never outlives its server: it runs under job_guard.py, which follows the
server's death (a parent-death signal) by stopping the job's whole process group,
and a restart stops whatever is left of a previous server's jobs. Its scratch space
(TMPDIR: temp folders) is `<job>/scratch`, removed when the job ends and, for jobs a
stopped server left, on restart; compiler caches (TORCHINDUCTOR_CACHE_DIR,
TRITON_CACHE_DIR) and the converted-model cache (SDAWS_MODEL_CACHE: single files
converted once for generation and training) are shared under `<data>/cache/`, where
the next job reuses them, instead of piling up in the system's temp folder.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sam_app.core.jobs_ports import JobRecord, JobRecords
from sam_app.core.jobs_service import advance_job
from sam_app.core.ports import Clock
from sdaws.contract import job_status as st
from sdaws.contract.entrypoint import MODEL_CACHE_ENV, TREE_CONVERTED_ENV, job_argv
from sdaws.contract.model_tree import CONVERTED_PREFIX, JOB_INPUTS_PREFIX
from sdaws.contract.progress import parse_line

from .job_files import KeyPaths, link_or_copy, writing_marker
from .job_results import collect_results, register_announced
from .job_secrets import discard_secrets
from .process_group import alive, command_line, kill_group, signal_group

logger = logging.getLogger(__name__)

RESTARTED = "server restarted while the job ran"
STOPPED = "server stopped while the job ran"
STOP_GRACE_S = 10.0

Command = Callable[[JobRecord, Path], list[str]]


GUARD = Path(__file__).with_name("job_guard.py")
SCRATCH = "scratch"


def job_command(job: JobRecord, workdir: Path) -> list[str]:
    return job_argv(sys.executable, job.kind, "--workdir", str(workdir))


def guarded(command: list[str]) -> list[str]:
    """`command` run under job_guard.py, which stops it (and its children) when this server dies."""
    return [sys.executable, "-E", "-s", str(GUARD), str(os.getpid()), "--", *command]


def job_environment(data_dir: Path, workdir: Path, models_dir: Path | None = None) -> dict[str, str]:
    scratch = workdir / SCRATCH
    scratch.mkdir(parents=True, exist_ok=True)
    cache = data_dir / "cache"
    places = {
        "TMPDIR": scratch,
        "TEMP": scratch,
        "TMP": scratch,
        "TORCHINDUCTOR_CACHE_DIR": cache / "torchinductor",
        "TRITON_CACHE_DIR": cache / "triton",
    }
    # Single-file checkpoints converted for txt2img/img2img/train, kept for the next job and
    # across restarts; a $SDAWS_MODEL_CACHE the user set wins.
    shared = {MODEL_CACHE_ENV: os.environ.get(MODEL_CACHE_ENV) or cache / "converted"}
    if models_dir is not None:
        shared[TREE_CONVERTED_ENV] = models_dir / CONVERTED_PREFIX  # its conversions are reused as they are
    env = places | shared
    return os.environ | {"PYTHONUNBUFFERED": "1"} | {k: str(v) for k, v in env.items()}


class _Log:
    """job.log, appended line by line from the stdout and stderr readers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._marker = writing_marker(path)
        self._marker.touch()  # until close: a reader must not call the log complete yet
        self._fh = open(path, "ab")
        self._lock = threading.Lock()

    def write(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode("utf-8", "replace")
        if not data.endswith(b"\n"):
            data += b"\n"
        with self._lock:
            self._fh.write(data)
            self._fh.flush()

    def note(self, text: str) -> None:
        self.write(f"[sdaws] {text}")

    def close(self) -> None:
        self._fh.close()
        self._marker.unlink(missing_ok=True)


class StageError(Exception):
    pass


class LocalJobRunner:
    def __init__(
        self,
        records: JobRecords,
        paths: KeyPaths,
        clock: Clock,
        max_concurrent: int = 1,
        command: Command = job_command,
        stop_grace_s: float = STOP_GRACE_S,
    ) -> None:
        self.records = records
        self.paths = paths
        self.clock = clock
        self.command = command
        self.stop_grace_s = stop_grace_s
        self.jobs_dir = paths.jobs_dir
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._procs: dict[str, subprocess.Popen] = {}
        self._cancelled: set[str] = set()
        self._owner_lock = None
        self._workers = [
            threading.Thread(target=self._work, name=f"sdaws-job-worker-{i}", daemon=True)
            for i in range(max(1, max_concurrent))
        ]
        for worker in self._workers:
            worker.start()

    # -- JobLauncher ---------------------------------------------------------
    def launch(self, job: JobRecord) -> None:
        self._queue.put(job.job_id)

    def cancel(self, job: JobRecord) -> None:
        with self._lock:
            self._cancelled.add(job.job_id)
            proc = self._procs.get(job.job_id)
        if proc is not None:
            self._terminate(proc)

    # -- lifecycle -----------------------------------------------------------
    def log_path(self, job_id: str) -> Path:
        return self.jobs_dir / job_id / "job.log"

    def _advance(self, job_id: str, new_status: str, **fields) -> bool:
        return advance_job(self.records, self.clock.now().isoformat(), job_id, new_status, **fields)

    def _all(self, status: str) -> list[JobRecord]:
        found, cursor = [], None
        while True:
            page, cursor = self.records.list(status, None, 200, cursor)
            found.extend(page)
            if cursor is None:
                return found

    @property
    def owns_data_dir(self) -> bool:
        return self._owner_lock is not None

    def _remove_scratch(self, job_id: str) -> None:
        shutil.rmtree(self.jobs_dir / job_id / SCRATCH, ignore_errors=True)

    def _claim_data_dir(self) -> bool:
        """True for the first server on this data dir; a second one must not touch the first's jobs."""
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        fh = open(self.jobs_dir / ".runner.lock", "a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the OS if this server dies
        except BlockingIOError:
            fh.close()
            return False
        self._owner_lock = fh
        return True

    def recover(self) -> None:
        """After a restart: jobs a previous server ran are FAILED (their processes stopped); queued ones run."""
        if not self._claim_data_dir():
            logger.warning("another sdaws server uses %s; leaving its jobs alone", self.jobs_dir)
            return
        for status in st.ACTIVE:
            for job in self._all(status):
                pid = job.launch.get("pid")
                # Only a process that is still this job's (pids are reused) gets stopped.
                if pid and alive(pid) and job.job_id in command_line(pid):
                    kill_group(pid)
                log = _Log(self.log_path(job.job_id))
                log.note(f"{RESTARTED}; marked FAILED")
                log.close()
                self._advance(job.job_id, st.FAILED, error=RESTARTED)
        queued = self._all(st.QUEUED)
        waiting = {job.job_id for job in queued}
        for entry in self.jobs_dir.iterdir():  # no job of this server runs yet: all scratch is left over
            if entry.is_dir() and not entry.is_symlink():
                self._remove_scratch(entry.name)
                if entry.name not in waiting:  # an import that died with the server keeps no token
                    discard_secrets(self.jobs_dir, entry.name)
        for job in reversed(queued):
            self.launch(job)

    def stop(self) -> None:
        """Stop the workers and every running job (their records say why)."""
        for _ in self._workers:
            self._queue.put(None)
        with self._lock:
            running = dict(self._procs)
        for job_id, proc in running.items():
            self._advance(job_id, st.FAILED, error=STOPPED)
            kill_group(proc.pid)
        for worker in self._workers:
            worker.join(timeout=self.stop_grace_s)
        if self._owner_lock is not None:
            self._owner_lock.close()
            self._owner_lock = None

    def _terminate(self, proc: subprocess.Popen) -> None:
        # SIGTERM lets the job stop cleanly; whatever is left after the grace period is killed.
        signal_group(proc.pid, signal.SIGTERM)
        timer = threading.Timer(self.stop_grace_s, lambda: proc.poll() is None and kill_group(proc.pid))
        timer.daemon = True
        timer.start()

    # -- one job -------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self._run(job_id)
            except Exception as exc:  # a runner bug must not strand the job or kill the worker
                logger.exception("local job %s failed in the runner", job_id)
                self._advance(job_id, st.FAILED, error=f"local runner error: {type(exc).__name__}: {exc}")

    def _stage(self, job: JobRecord, workdir: Path) -> None:
        config = workdir / "input" / "config"
        config.mkdir(parents=True, exist_ok=True)
        (config / "spec.json").write_text(json.dumps(job.spec), encoding="utf-8")
        (workdir / "output").mkdir(exist_ok=True)
        for item in job.inputs:
            src = self.paths.path(item.key)
            channel = workdir / "input" / "data" / item.channel
            channel.mkdir(parents=True, exist_ok=True)
            if not src.exists():
                raise StageError(f"input {item.key} no longer exists")
            if item.folder and item.key.startswith(JOB_INPUTS_PREFIX + "/"):
                for member in sorted(src.iterdir()):  # a dataset: its files make up the channel
                    if member.is_file() and not member.name.startswith("."):
                        link_or_copy(member, channel / member.name)
            else:
                link_or_copy(src, channel / src.name)

    def _run(self, job_id: str) -> None:
        if not self._advance(job_id, st.STARTING):
            return  # cancelled while queued, or already handled
        job = self.records.get(job_id)
        workdir = self.jobs_dir / job_id
        log = _Log(self.log_path(job_id))
        try:
            try:
                self._stage(job, workdir)
                env = job_environment(self.paths.data_dir, workdir, self.paths.models_dir)
            except (StageError, OSError, ValueError) as exc:
                log.note(f"could not prepare the job: {exc}")
                self._advance(job_id, st.FAILED, error=f"could not prepare the job: {exc}")
                return
            command = guarded(self.command(job, workdir))
            with self._lock:
                if job_id in self._cancelled:
                    return
                proc = subprocess.Popen(
                    command,
                    cwd=workdir,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # its own process group: cancel reaches every child
                    env=env,
                )
                self._procs[job_id] = proc
            log.note(f"started {job.kind} job (pid {proc.pid})")
            self._advance(job_id, st.RUNNING, launch={"pid": proc.pid, "workdir": str(workdir)})
            self._follow(job_id, proc, log)
        finally:
            log.close()  # first: its followers wait for it, not for the clean-up
            self._remove_scratch(job_id)
            discard_secrets(self.jobs_dir, job_id)  # an import's token lives no longer than its job

    def _follow(self, job_id: str, proc: subprocess.Popen, log: _Log) -> None:
        last_error: list[str] = []
        last_stderr: list[str] = []
        registered: list[dict] = []  # intermediate checkpoints already in the tree

        def pump_stderr() -> None:
            for raw in proc.stderr:
                log.write(raw)
                if raw.strip():
                    last_stderr[:] = [raw.decode("utf-8", "replace").strip()[:500]]

        def pump_stdout() -> None:
            for raw in proc.stdout:
                log.write(raw)
                event = parse_line(raw.decode("utf-8", "replace"))
                if event is None:
                    continue
                if event["event"] == "progress":
                    progress = {k: event.get(k) for k in ("step", "total", "eta_s", "message")}
                    self.records.update_progress(job_id, progress, self.clock.now().isoformat())
                elif event["event"] == "error":
                    last_error.append(str(event.get("message") or "failed"))
                elif event["event"] == "output" and event.get("step") is not None:
                    out_dir = self.jobs_dir / job_id / "output"
                    placed = register_announced(out_dir, str(event.get("type")), str(event.get("name")), self.paths)
                    if placed is not None:
                        registered.append(placed)
                        log.note(f"{placed['key']} is in the model tree (step {event['step']})")

        readers = [threading.Thread(target=fn, daemon=True) for fn in (pump_stdout, pump_stderr)]
        for reader in readers:
            reader.start()
        code = proc.wait()
        kill_group(proc.pid)  # nothing the job started may outlive it
        for reader in readers:
            reader.join()
        with self._lock:
            self._procs.pop(job_id, None)
            cancelled = job_id in self._cancelled
        if cancelled:
            log.note("cancelled; the process group was stopped")
            return
        if code != 0:
            # The job's own error event says it best; else the last thing it printed (an import error, say).
            reason = (
                last_error[-1] if last_error else f"exit code {code}" + (f": {last_stderr[0]}" if last_stderr else "")
            )
            log.note(f"failed: {reason}")
            self._advance(job_id, st.FAILED, error=reason, outputs=registered)
            return
        try:
            outputs = registered + collect_results(self.jobs_dir / job_id / "output", job_id, self.paths, log.note)
        except (OSError, ValueError) as exc:
            log.note(f"could not store the outputs: {exc}")
            self._advance(job_id, st.FAILED, error=f"could not store the outputs: {exc}")
            return
        log.note(f"succeeded with {len(outputs)} output(s)")
        self._advance(job_id, st.SUCCEEDED, outputs=outputs)
