"""The job image's `serve` (SageMaker's inference server) as a local process on a free port."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve_process(models: Path, env: dict[str, str], output, failure: callable):
    """Start `python -m sdaws_jobs.serve` over `models`; yield its URL once /ping answers.
    `output` takes its stdout and stderr; `failure()` says what it printed if it died."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "sdaws_jobs.serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--models",
        str(models),
    ]
    proc = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # readiness poll, not a timing assertion
            try:
                urllib.request.urlopen(url + "/ping", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(failure())
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
