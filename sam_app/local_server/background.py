"""The local server the CLI leaves running for its jobs: `python -m sam_app.local_server.background`.

`sdaws generate` (and every other CLI command that submits a job) in local mode must not
take its job down with it when it exits. With no server running, the CLI starts this one
in its own session (no terminal, so neither Ctrl-C nor closing the terminal reaches it),
waits for its calling card (`announce.py`) and submits there. It serves like
`sdaws serve` and stops by itself once it has been idle — no job queued or running and
no request — for `--idle-exit` seconds, so nothing lingers for long after the last job.
SIGTERM stops it the way Ctrl-C stops `sdaws serve` (running jobs are marked FAILED).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from pathlib import Path

from sam_app.adapters.local.token import load_or_create_token
from sdaws.contract import job_status as st

from . import paths
from .server import LocalApiServer

DEFAULT_IDLE_EXIT_S = 600.0
IDLE_EXIT_ENV = "SDAWS_IDLE_EXIT_S"  # the default for --idle-exit (tests use a short one)
CHECK_EVERY_S = 2.0


class _Activity:
    """Wraps the dispatcher to note when the last API request arrived."""

    def __init__(self, dispatcher) -> None:
        self.dispatcher = dispatcher
        self.last = time.monotonic()

    def __call__(self, event: dict) -> dict:
        self.last = time.monotonic()
        try:
            return self.dispatcher(event)
        finally:
            self.last = time.monotonic()


def _has_active_jobs(server: LocalApiServer) -> bool:
    return any(server.jobs.service.list(status=status, limit=1)["jobs"] for status in (st.QUEUED, *st.ACTIVE))


def run(models_dir: Path, data_dir: Path, idle_exit_s: float) -> int:
    token = load_or_create_token(paths.default_config_dir())
    server = LocalApiServer(models_dir, data_dir, token, "127.0.0.1", 0)
    activity = _Activity(server.dispatcher)
    server.dispatcher = activity
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    thread = threading.Thread(target=server.serve_forever, name="sdaws-background-server", daemon=True)
    thread.start()
    logging.getLogger(__name__).info("sdaws background server on %s (models %s)", server.url, models_dir)
    try:
        while not stopping.wait(CHECK_EVERY_S):
            if _has_active_jobs(server):
                activity.last = time.monotonic()
            elif time.monotonic() - activity.last > idle_exit_s:
                break
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sam_app.local_server.background")
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument(
        "--idle-exit",
        type=float,
        default=float(os.environ.get(IDLE_EXIT_ENV) or DEFAULT_IDLE_EXIT_S),
        metavar="SECONDS",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args.models, args.data_dir, args.idle_exit)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
