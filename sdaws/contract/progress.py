"""The progress-line protocol: one JSON object per stdout line of a job.

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
from typing import Any

PROGRESS, OUTPUT, DONE, ERROR = "progress", "output", "done", "error"
EVENTS = (PROGRESS, OUTPUT, DONE, ERROR)


def encode(event: dict[str, Any]) -> str:
    """The line (without its newline) that carries `event`."""
    return json.dumps(event, ensure_ascii=False, allow_nan=False)


def progress_event(step: int, total: int, eta_s: float | None, message: str = "") -> dict[str, Any]:
    return {"event": PROGRESS, "step": step, "total": total, "eta_s": eta_s, "message": message}


def output_event(file: str, type: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"event": OUTPUT, "file": file, "type": type, "name": name, **extra}


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
