"""The installed `sdaws` in a real terminal (tmux): it starts, browses to a model, opens a job
and quits cleanly. tmux is a system package (apt-get install tmux)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid

import pytest

from sdaws.client.demo import demo_bytes
from tests.support.env import need
from tests.support.tui_env import SDAWS

pytestmark = pytest.mark.slow


class Tmux:
    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"sdaws-test-{uuid.uuid4().hex[:8]}"  # a private tmux server with our env
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=self.env)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "sdaws").stdout

    def wait_for(self, text: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds  # a deadline for a hung app, not a timing assertion
        while time.monotonic() < deadline:
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", "sdaws", key)
            time.sleep(0.15)  # let the app take each key as a separate press


def test_sdaws_in_a_real_terminal(server, tmp_path):
    need(shutil.which("tmux") is not None, "tmux is needed (apt-get install tmux)")
    (server.models / "Stable-diffusion/demo-model.safetensors").write_bytes(demo_bytes())
    client = server.client()
    # A convert job of the (not convertible) demo file: it ends quickly whatever happens.
    job = client.submit_job("convert", {"model": "demo-model.safetensors", "output_name": "demo-conv"})
    exit_file = tmp_path / "exit-code"
    command = (
        f"{shlex.quote(str(SDAWS))} --api {server.url} --token {server.token}; echo $? > {shlex.quote(str(exit_file))}"
    )
    tmux = Tmux({**os.environ, "TERM": "xterm-256color"})
    try:
        assert tmux.run("new-session", "-d", "-s", "sdaws", "-x", "130", "-y", "40", command).returncode == 0
        tmux.wait_for("demo-model.safetensors")  # started, connected, Stable-diffusion/ opened
        tmux.keys("Down")  # the cursor starts on Stable-diffusion/, opened: its first model is next
        shown = tmux.wait_for("Parameters")
        assert "Stable-diffusion/demo-model.safetensors" in shown and "safetensors" in shown
        tmux.keys("j")
        tmux.wait_for(job["job_id"][:12])
        tmux.keys("Enter")
        tmux.wait_for(f"Job {job['job_id']}")
        # Back with backspace: Escape followed fast by "q" reads as alt+q in a terminal.
        tmux.keys("BSpace")
        tmux.wait_for("Jobs (n: new job")
        tmux.keys("q")
        deadline = time.monotonic() + 60
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert exit_file.exists(), f"sdaws did not quit; the screen was:\n{tmux.screen()}"
        assert exit_file.read_text().strip() == "0"
        assert "Traceback" not in tmux.screen()
    finally:
        tmux.run("kill-server")


@pytest.mark.torch
@pytest.mark.parametrize("term", ["xterm-256color", "tmux-256color"])
def test_the_job_view_shows_the_image_and_opens_it_large(job_server, user_env, tmp_path, term):
    """Journey: a finished txt2img job, opened in a real terminal, shows its image (half-blocks
    in tmux), says where its outputs are saved, and Enter on the output opens it large."""
    need(shutil.which("tmux") is not None, "tmux is needed (apt-get install tmux)")
    from sdaws.client.api import ApiClient
    from sdaws.client.job_follow import follow_job
    from tests.support.job_server import TOKEN as JOB_TOKEN

    handle, _ = job_server
    with ApiClient(handle.url, JOB_TOKEN) as client:
        job = client.submit_job(
            "txt2img", {"model": "tiny-sd", "prompt": "a red fox", "steps": 2, "width": 32, "height": 32, "seed": 3}
        )
        final = follow_job(client, job["job_id"], lambda update: None, interval=0.5)
    assert final is not None and final["status"] == "SUCCEEDED", final
    command = f"{shlex.quote(str(SDAWS))} --api {handle.url} --token {JOB_TOKEN}"
    tmux = Tmux({**os.environ, "TERM": term})
    try:
        assert tmux.run("new-session", "-d", "-s", "sdaws", "-x", "160", "-y", "45", command).returncode == 0
        tmux.wait_for("Stable-diffusion (required)")
        tmux.keys("j")
        tmux.wait_for(job["job_id"][:12])
        tmux.keys("Enter")
        tmux.wait_for("Saved in")
        shown = tmux.wait_for("▀" * 10)  # the picture itself, drawn in half-blocks
        assert "00000-3.png" in shown and shown.count("▀") > 100
        tmux.keys("Enter")  # the output list has the focus: open the image large
        large = tmux.wait_for(f"outputs/{job['job_id']}/00000-3.png")
        assert large.count("▀") > shown.count("▀") // 2
        tmux.keys("BSpace")
        tmux.wait_for("Saved in")
        assert "Traceback" not in tmux.screen()
    finally:
        tmux.run("kill-server")
