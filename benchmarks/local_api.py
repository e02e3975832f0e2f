"""`sdaws serve` (the real CLI) as a child process on loopback, for benchmarks that go
through the local HTTP API the way the TUI and scripts do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from random_models import REPO

TOKEN = "bench-token-local-api"


def child_env() -> dict[str, str]:
    """The benchmark's own checkout first on the path, hub access off."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "containers")]), "HF_HUB_OFFLINE": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(models: Path, data: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """(process, base URL) once it accepts connections; its output goes to `log`
    (a pipe nobody reads would block the server)."""
    port = free_port()
    sdaws = Path(sys.executable).parent / "sdaws"
    argv = [str(sdaws)] if sdaws.exists() else [sys.executable, "-m", "sdaws.entry"]
    argv += ["serve", "--models", str(models), "--data-dir", str(data), "--token", TOKEN, "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"sdaws serve exited; see {log}") from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("sdaws serve did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
