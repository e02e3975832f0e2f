"""Run one job so that it dies with the server that started it.

`python job_guard.py <server pid> -- <job argv…>`, started by the local runner as the
leader of a new process group. It asks Linux to signal it when the server dies
(PR_SET_PDEATHSIG; checked against a server that died before the call), starts the job
in its group, and then:
- on the server's death, stops the whole group: SIGTERM (the job stops cleanly, as on
  cancel), and SIGKILL for whatever is left after GRACE_S — grandchildren included,
  which a parent-death signal on the job alone would orphan;
- on the runner's own SIGTERM to the group (cancel), keeps waiting: the job handles it;
- exits as the job did (the same code, or the same signal).
The job also gets a parent-death SIGKILL relative to the guard, should the guard itself
be killed. Standard library only: this file runs with `python -E -s`, outside the app.
Elsewhere than Linux the server's restart stops orphans instead (LocalJobRunner.recover).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

PR_SET_PDEATHSIG = 1
DEATH_SIGNAL = signal.SIGHUP
GRACE_S = 10.0


def _set_parent_death_signal(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stop_group(job: subprocess.Popen) -> None:
    group = os.getpgrp()
    try:
        os.killpg(group, signal.SIGTERM)
    except OSError:
        pass
    deadline = time.monotonic() + GRACE_S
    while job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(group, signal.SIGKILL)  # ends this guard too


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: job_guard.py SERVER_PID -- JOB_ARGV...", file=sys.stderr)
        return 2
    server_pid, command = int(argv[0]), argv[2:]
    # Cancel (SIGTERM to the group) is for the job; the runner escalates to SIGKILL itself. A handler,
    # not SIG_IGN: an ignored signal would stay ignored in the job across exec.
    signal.signal(signal.SIGTERM, lambda *_: None)
    job_holder: list[subprocess.Popen] = []
    signal.signal(DEATH_SIGNAL, lambda *_: _stop_group(job_holder[0]) if job_holder else os._exit(1))
    if _set_parent_death_signal(DEATH_SIGNAL) and os.getppid() != server_pid:
        return 1  # the server died before it could ask us to follow it
    job = subprocess.Popen(
        command,
        preexec_fn=lambda: _set_parent_death_signal(signal.SIGKILL),  # this process has one thread: safe here
        restore_signals=True,
    )
    job_holder.append(job)
    code = job.wait()
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
