"""Fixtures for the TUI and CLI tests: a real local server on loopback and an isolated user.

Every test gets its own HOME / XDG dirs / SDAWS_CONFIG_DIR and runs in an empty
folder, so no real config, token or ``sagemaker_ui.json`` can leak in.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

TOKEN = "tui-test-token-0123456789abcdef"
SDAWS = Path(sys.executable).with_name("sdaws")


@pytest.fixture
def user_env(tmp_path, monkeypatch) -> dict[str, str]:
    home = tmp_path / "home"
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "SDAWS_CONFIG_DIR": str(home / ".config/sdaws"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("SDAWS_API_URL", "SDAWS_TOKEN", "CI_SDAWS_UNUSED"):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    return env


@dataclass
class Server:
    url: str
    token: str
    models: Path
    data: Path
    handle: object

    def client(self):
        from sdaws.client.api import ApiClient

        return ApiClient(self.url, self.token)


@pytest.fixture
def server(tmp_path, user_env):
    from sam_app.local_server.server import serve_in_thread

    models = tmp_path / "models"
    (models / "Stable-diffusion").mkdir(parents=True)
    handle = serve_in_thread(models, tmp_path / "data", TOKEN, part_size=1024 * 1024)
    yield Server(handle.url, TOKEN, models, tmp_path / "data", handle)
    handle.stop()


def run_sdaws(
    server: Server | None, *args: str, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the installed console script, the way a user's script would."""
    argv = [str(SDAWS), *args]
    if server is not None:
        argv += ["--api", server.url, "--token", server.token]
    return subprocess.run(argv, capture_output=True, text=True, input=input, timeout=timeout, env=dict(os.environ))


@pytest.fixture
def anyio_backend():
    return "asyncio"  # Textual runs on asyncio


@pytest.fixture(scope="module")
def job_server(tmp_path_factory):
    """A local server with tiny real models that runs real CPU jobs: (handle, models dir)."""
    from sam_app.local_server.server import serve_in_thread
    from tests.support.job_server import TOKEN as JOB_TOKEN
    from tests.support.job_server import build_models

    root = tmp_path_factory.mktemp("jobs")
    models = build_models(root / "models", tmp_path_factory.getbasetemp() / "tiny-sd-cache")
    handle = serve_in_thread(models, root / "data", JOB_TOKEN)
    yield handle, models
    handle.stop()


def _stop_background_server(data_dir: Path) -> None:
    """End the background server a CLI command left running in this test's data dir (ours only)."""
    import json
    import signal
    import time

    record = data_dir / "server.json"
    try:
        pid = int(json.loads(record.read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return
    if pid == os.getpid():
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30  # a deadline for a hung server, not a timing assertion
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


@pytest.fixture
def local_mode(user_env, tmp_path_factory, monkeypatch):
    """Nothing configured (local mode) over the default model root, holding tiny real models:
    (models dir, data dir). A background server a command leaves running is stopped after."""
    from sam_app.local_server.paths import default_data_dir, default_models_dir
    from tests.support.job_server import build_models

    monkeypatch.setenv("SDAWS_IDLE_EXIT_S", "120")  # a forgotten server ends by itself soon
    models = build_models(default_models_dir(), tmp_path_factory.getbasetemp() / "tiny-sd-cache")
    yield models, default_data_dir()
    _stop_background_server(default_data_dir())
