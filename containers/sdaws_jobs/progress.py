"""Machine-readable progress: one JSON object per stdout line.

This log is the single progress channel, locally (the subprocess runner reads the
pipe) and on SageMaker (CloudWatch Logs). Events:

    {"event": "progress", "step": i, "total": n, "eta_s": float|null, "message": str}
    {"event": "output", "file": "<path under output/>", "type": "<tree folder>", "name": "<file name>"}
    {"event": "done"}
    {"event": "error", "message": "..."}

`output` events may carry extra keys (e.g. "seed" for images); readers must ignore
keys they do not know. Lines that are not JSON objects with an "event" key (library
warnings, tracebacks) are not events: `parse_line` returns None for them.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

EVENTS = ("progress", "output", "done", "error")

_lock = threading.Lock()
_stream: TextIO | None = None


def set_stream(stream: TextIO | None) -> None:
    """Send events to `stream` (None: whatever sys.stdout is at emit time)."""
    global _stream
    _stream = stream


def emit(event: dict[str, Any]) -> None:
    line = json.dumps(event, ensure_ascii=False, allow_nan=False)
    stream = _stream or sys.stdout
    # One write per line, under a lock: a line must never interleave with another.
    with _lock:
        stream.write(line + "\n")
        stream.flush()


def output(file: str, type: str, name: str, **extra: Any) -> None:  # noqa: A002 - contract key
    emit({"event": "output", "file": file, "type": type, "name": name, **extra})


def done() -> None:
    emit({"event": "done"})


def error(message: str) -> None:
    emit({"event": "error", "message": message})


def message(text: str, step: int = 0, total: int = 0) -> None:
    """A progress line that only informs (e.g. 'loading model')."""
    emit({"event": "progress", "step": step, "total": total, "eta_s": None, "message": text})


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
        emit(
            {
                "event": "progress",
                "step": self.step,
                "total": self.total,
                "eta_s": self.eta_s(),
                "message": message,
            }
        )


def parse_line(line: str) -> dict[str, Any] | None:
    """The event on this stdout line, or None when the line is not an event."""
    text = line.strip()
    if not text.startswith("{") or not text.endswith("}"):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("event") not in EVENTS:
        return None
    return obj
