"""Writing the progress-line protocol (sdaws.contract.progress) from a running job.

Each event is one line on the job's real stdout, written whole under a lock so lines
from several threads never interleave.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

from sdaws.contract import progress as protocol

_lock = threading.Lock()
_stream: TextIO | None = None


def set_stream(stream: TextIO | None) -> None:
    """Send events to `stream` (None: whatever sys.stdout is at emit time)."""
    global _stream
    _stream = stream


def emit(event: dict[str, Any]) -> None:
    line = protocol.encode(event)
    stream = _stream or sys.stdout
    with _lock:
        stream.write(line + "\n")
        stream.flush()


def output(file: str, type: str, name: str, **extra: Any) -> None:
    emit(protocol.output_event(file, type, name, **extra))


def done() -> None:
    emit({"event": protocol.DONE})


def error(message: str) -> None:
    emit({"event": protocol.ERROR, "message": message})


def message(text: str, step: int = 0, total: int = 0) -> None:
    """A progress line that only informs (e.g. 'loading model')."""
    emit(protocol.progress_event(step, total, None, text))


class Progress:
    """Counts steps of a job and emits progress lines with an ETA.

    Lines are throttled to one per `min_interval_s` (first and last always go out) so
    a fast GPU loop does not flood CloudWatch.
    """

    def __init__(self, total: int, min_interval_s: float = 0.5, clock=time.monotonic):
        self.total = max(int(total), 0)
        self.step = 0
        self._clock = clock
        self._start = clock()
        self._last_emit: float | None = None
        self.min_interval_s = min_interval_s

    def eta_s(self) -> float | None:
        if self.step <= 0 or self.total <= 0:
            return None
        elapsed = self._clock() - self._start
        return round(elapsed / self.step * max(self.total - self.step, 0), 2)

    def advance(self, n: int = 1, message: str = "") -> None:
        self.step = min(self.step + n, self.total) if self.total else self.step + n
        now = self._clock()
        last = self.step >= self.total
        if not last and self._last_emit is not None and now - self._last_emit < self.min_interval_s:
            return
        self._last_emit = now
        emit(protocol.progress_event(self.step, self.total, self.eta_s(), message))
