"""The local API server for local mode: the running one if there is one, else one we start.

One server per data dir owns the jobs. So in local mode the client first looks for a
server that announced itself in the data dir (`sam_app.local_server.announce`): same
model root, same token, and it answers. Only when there is none does it start one: in
this process (the TUI; a quick CLI query), or — for a CLI command that submits a job —
as a background process that outlives the CLI, so the job is not killed when the
command returns (`sam_app.local_server.background`).

Either way the server takes the token kept in the config dir (or SDAWS_TOKEN); a token
given with `--token` is what the client sends, so a wrong one is refused as it would be
by a deployed stack.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sdaws.client.errors import ApiError

START_TIMEOUT_S = 60.0  # a deadline for a server that never comes up, not a timing assumption


@dataclass
class LocalServer:
    url: str
    token: str  # the token the server takes
    models_dir: Path
    handle: Any = None  # the in-process server's handle (has .stop()); None when it runs elsewhere
    pid: int | None = None

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self.handle = None


def _local_parts():
    try:
        from sam_app.adapters.local.token import load_or_create_token
        from sam_app.local_server import announce, paths
    except ImportError as exc:  # a broken install, not a user mistake, but say so plainly
        raise ApiError(f"The embedded local server is not available in this install: {exc}", code="no_local") from exc
    return load_or_create_token, announce, paths


def _answers(url: str, token: str) -> bool:
    try:
        response = httpx.get(url.rstrip("/") + "/ping", headers={"x-api-key": token}, timeout=3.0)
    except httpx.HTTPError:
        return False
    return response.is_success


def models_root(models_dir: str | Path | None) -> Path:
    _, _, paths = _local_parts()
    return Path(models_dir).expanduser() if models_dir else Path(paths.default_models_dir())


def find_running(models_dir: Path) -> LocalServer | None:
    """A live server over ``models_dir`` that takes this user's token, or None."""
    load_or_create_token, announce, paths = _local_parts()
    record = announce.read_record(paths.default_data_dir())
    if record is None or Path(record.models_dir) != models_dir.resolve():
        return None
    token = load_or_create_token(paths.default_config_dir())
    if record.token_fingerprint != announce.token_fingerprint(token) or not _answers(record.url, token):
        return None
    return LocalServer(record.url, token, models_dir, pid=record.pid)


def start_in_process(models_dir: Path) -> LocalServer:
    """The embedded server in a thread of this process; it stops when this process does."""
    load_or_create_token, _, paths = _local_parts()
    from sam_app.local_server.server import serve_in_thread

    token = load_or_create_token(paths.default_config_dir())
    try:
        handle = serve_in_thread(
            models_dir=models_dir, data_dir=Path(paths.default_data_dir()), token=token, host="127.0.0.1", port=0
        )
    except OSError as exc:
        raise ApiError(f"Could not start the local server over {models_dir}: {exc}", code="local_start") from exc
    return LocalServer(handle.url, token, models_dir, handle=handle, pid=os.getpid())


def start_background(models_dir: Path) -> LocalServer:
    """A server in its own session that outlives this process (it exits when idle)."""
    load_or_create_token, announce, paths = _local_parts()
    data_dir = Path(paths.default_data_dir())
    data_dir.mkdir(parents=True, exist_ok=True)
    token = load_or_create_token(paths.default_config_dir())  # made before the server reads it
    log_path = data_dir / "server.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sam_app.local_server.background",
                "--models",
                str(models_dir),
                "--data-dir",
                str(data_dir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=data_dir,  # never holds on to the folder the command ran in
            start_new_session=True,  # no terminal: Ctrl-C and a closed terminal leave it (and its jobs) alone
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        record = announce.read_record(data_dir)
        if record is not None and record.pid == proc.pid and _answers(record.url, token):
            return LocalServer(record.url, token, models_dir, pid=proc.pid)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.terminate()
    tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or ["no output"]
    raise ApiError(f"The background local server did not start ({tail[0][:300]}); see {log_path}", code="local_start")


def local_server(models_dir: str | Path | None, *, outlive_me: bool = False) -> LocalServer:
    """The server local mode talks to (see the module docstring)."""
    root = models_root(models_dir)
    return find_running(root) or (start_background(root) if outlive_me else start_in_process(root))
