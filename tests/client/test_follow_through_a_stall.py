"""Following a job rides out a server that stops answering for a while (a loaded machine):
the poll is asked again, nothing of the log is lost, and the follow ends with the job.
The server is the real background one a CLI command leaves running, frozen with SIGSTOP."""

from __future__ import annotations

import json
import os
import signal

import httpx
import pytest

from sdaws.client.api import ApiClient
from sdaws.client.errors import TimedOut
from sdaws.client.job_follow import JobUpdate, follow_job, readable
from sdaws.client.local_server import find_running, models_root
from tests.support.tui_env import run_sdaws

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def test_a_follow_asks_again_when_the_server_does_not_answer(local_mode):
    submitted = run_sdaws(None, "merge", "alpha.safetensors", "beta.safetensors", "--output", "stalled", "--json")
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["job_id"]
    server = find_running(models_root(None))
    assert server is not None and server.pid
    os.kill(server.pid, signal.SIGSTOP)  # frozen: it takes connections but answers nothing
    retried: list[Exception] = []
    lines: list[str] = []

    def thaw(error: Exception) -> None:
        retried.append(error)
        os.kill(server.pid, signal.SIGCONT)

    def shown(update: JobUpdate) -> None:
        lines.extend(text for text in map(readable, update.lines) if text)

    try:
        with ApiClient(server.url, server.token, timeout=httpx.Timeout(1.0)) as client:
            final = follow_job(client, job_id, shown, interval=0.2, on_retry=thaw)
    finally:
        os.kill(server.pid, signal.SIGCONT)
    assert retried and isinstance(retried[0], TimedOut)
    assert final is not None and final["status"] == "SUCCEEDED", final
    assert lines[0].startswith("[sdaws] started merge job") and lines[-1].startswith("[sdaws] succeeded")
