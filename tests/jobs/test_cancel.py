"""SIGTERM (the local runner's cancel, SageMaker's stop) ends a job with an error event."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sdaws.contract.progress import parse_line
from tests.support.jobrun import make_workdir

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def test_sigterm_mid_generation_reports_cancelled(tiny_sd, tmp_path):
    spec = {"prompt": "p", "model": "tiny-sd", "steps": 500, "width": 32, "height": 32, "batch_count": 100}
    workdir = make_workdir(tmp_path, spec, {"model": [tiny_sd]})
    proc = subprocess.Popen(
        [sys.executable, "-m", "sdaws_jobs", "txt2img", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    events = []
    for line in proc.stdout:  # wait until denoising has started
        event = parse_line(line)
        if event:
            events.append(event)
        if event and event["event"] == "progress" and event["total"]:
            break
    proc.terminate()
    events += [e for e in map(parse_line, proc.stdout.read().splitlines()) if e]
    assert proc.wait(timeout=120) == 1
    assert events[-1] == {"event": "error", "message": "cancelled (SIGTERM)"}
    assert not list((workdir / "output").rglob("*.partial"))
