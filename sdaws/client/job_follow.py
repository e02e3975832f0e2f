"""Following a job: the one polling loop behind `sdaws jobs watch`, `generate --wait`
and the TUI's job view, and how its log reads for a person.

The job record and the log are polled together, and the server says when the log is
complete: most lines are written before the job's final status, but a cancel is decided
first and its note follows, and a cloud log store delivers late. So a final job is
followed until its log is complete (LATE_POLLS at most). A poll that gets no answer (a server busy on a loaded machine, a
moment's hiccup) is tried again a few times before the loop gives up: the job runs on
the server whether or not anyone is polling it. The raw log stays on the server (and in `job.log`) as the job wrote
it; `readable` turns a progress event into a line like "denoising 3/20 · ETA 4s" and
drops library noise (torchvision notices, FutureWarnings, tqdm bars).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sdaws.client import fmt
from sdaws.client.api import ApiClient
from sdaws.client.errors import ApiError, ConnectFailed, TimedOut
from sdaws.client.safe_text import printable
from sdaws.contract import progress as protocol
from sdaws.contract.job_status import FINAL as FINAL_STATUSES


@dataclass
class JobUpdate:
    """One poll: the job record and the log lines that appeared since the last poll."""

    job: dict
    lines: list[str] = field(default_factory=list)
    logs_complete: bool = False

    @property
    def final(self) -> bool:
        return self.job.get("status") in FINAL_STATUSES


class JobFollower:
    """Polls one job; each `poll()` returns what is new. Safe to call from a worker thread."""

    def __init__(self, client: ApiClient, job_id: str) -> None:
        self.client = client
        self.job_id = job_id
        self.cursor: str | None = None
        self._pending: list[str] = []  # lines read by a poll that failed later: the next poll hands them on

    def poll(self) -> JobUpdate:
        """One request while the log has no more than a page of new lines: the log page carries
        the job's record, read by the server before the lines (a final status means the log is whole)."""
        lines = self._pending
        while True:
            page = self.client.job_logs(self.job_id, self.cursor)
            lines.extend(page.get("lines", []))
            next_cursor = page.get("next_cursor")
            moved = bool(page.get("lines")) and bool(next_cursor) and next_cursor != self.cursor
            self.cursor = next_cursor or self.cursor
            if not moved or page.get("at_end", False):
                break
        self._pending = []
        job = page.get("job")
        if not isinstance(job, dict):
            raise ApiError("the API sent a log page without its job: deploy the stack from this sdaws version")
        return JobUpdate(job, lines, bool(page.get("complete")))


PATIENCE = 5  # polls in a row without an answer before following gives up
LATE_POLLS = 10  # polls of a final job whose log the server does not yet call complete
RETRY_AFTER_S = 2.0


def no_answer(exc: ApiError) -> bool:
    """The server did not answer (timeout, refused, reset): worth asking again. A bad URL is not."""
    return isinstance(exc, (TimedOut, ConnectFailed)) and exc.code in ("timeout", "connect")


def follow_job(
    client: ApiClient,
    job_id: str,
    on_update: Callable[[JobUpdate], None],
    *,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    on_retry: Callable[[ApiError], None] | None = None,
) -> dict | None:
    """Poll until the job is final (its last lines delivered); return the final record.

    Returns None when ``stop`` is set first (the viewer went away; the job goes on). A poll
    without an answer is retried (``on_retry`` hears of each) up to PATIENCE times in a row.
    """
    follower = JobFollower(client, job_id)
    stop = stop or threading.Event()
    misses = late = 0
    while not stop.is_set():
        try:
            update = follower.poll()
        except ApiError as exc:
            misses += 1
            if not no_answer(exc) or misses >= PATIENCE:
                raise
            if on_retry is not None:
                on_retry(exc)
            stop.wait(max(interval, RETRY_AFTER_S))
            continue
        misses = 0
        on_update(update)
        if update.final:
            if update.logs_complete or late >= LATE_POLLS:
                return update.job
            late += 1
        stop.wait(interval)
    return None


# -- how a log reads ---------------------------------------------------------------

# Lines libraries print that say nothing about the job (kept in the raw log).
_NOISE = (
    re.compile(r"^\[transformers\] "),  # transformers' notices (torchvision, deprecations)
    re.compile(r"(Future|Deprecation|User)Warning"),
    re.compile(r"^\s*warnings\.warn\("),
    re.compile(r"torchvision"),
    re.compile(r"\d+%\|[^|]*\|"),  # tqdm bars ("Loading weights:  40%|████ |")
    re.compile(r"^\s*(self\.)?\w+ = \w+\("),  # the source line Python prints under a warning
)


def is_noise(line: str) -> bool:
    return any(pattern.search(line) for pattern in _NOISE)


def describe_event(event: dict) -> str:
    """A progress-protocol event as one line a person reads."""
    kind = event.get("event")
    if kind == protocol.PROGRESS:
        message = str(event.get("message") or "")
        total = event.get("total") or 0
        if not total:
            return message or "working…"
        text = f"{message or 'step'} {event.get('step') or 0}/{total}"
        eta = event.get("eta_s")
        return text + (f" · ETA {fmt.duration(eta)}" if eta else "")
    if kind == protocol.OUTPUT:
        return f"output {event.get('type')}/{event.get('name')}"
    if kind == protocol.ERROR:
        return f"error: {event.get('message') or 'failed'}"
    return "done"


def readable(line: str) -> str | None:
    """The line as the log pane and `jobs watch` show it (safe for a terminal); None for noise."""
    line = line.rsplit("\r", 1)[-1]  # tqdm redraws with carriage returns: keep the final state
    event = protocol.parse_line(line)
    if event is not None:
        return printable(describe_event(event), single_line=True)
    if not line.strip() or is_noise(line):
        return None
    return printable(line, single_line=True)


def status_line(job: dict) -> str:
    """One line for a job: `RUNNING · denoising 3/20 (15%) · ETA 4s`; at the end no stale message."""
    status = str(job.get("status") or "?")
    progress = job.get("progress") or {}
    step, total = progress.get("step"), progress.get("total")
    final = status in FINAL_STATUSES
    message = "" if final else str(progress.get("message") or "")
    parts = [status]
    if total:
        parts.append(f"{message + ' ' if message else ''}{step or 0}/{total} ({100 * (step or 0) // total}%)")
        if progress.get("eta_s") and status == "RUNNING":
            parts.append(f"ETA {fmt.duration(progress['eta_s'])}")
    elif message:
        parts.append(message)
    return " · ".join(parts)


def first_line(error: object) -> str:
    """A job's error as one line (the log keeps the rest)."""
    lines = [line.strip() for line in str(error or "").splitlines() if line.strip()]
    return lines[0] if lines else ""
