"""Progress of a transfer as progress events: bytes done, total, rate and ETA.

The protocol's progress event carries step/total/eta_s/message (step = bytes here); the
extra keys `bytes`, `total_bytes` and `rate_bps` are for readers that show a transfer
(readers ignore keys they do not know). Lines are throttled like every job's progress.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sdaws.contract import progress as protocol

from .. import progress as events

WINDOW_S = 5.0  # the rate is measured over the last few seconds, not since the start


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_seconds(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


class ByteMeter:
    def __init__(
        self,
        label: str,
        total: int | None,
        min_interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[[dict], None] = events.emit,
    ) -> None:
        self.label = label
        self.total = total
        self.min_interval_s = min_interval_s
        self.clock = clock
        self._emit = emit
        self._samples: list[tuple[float, int]] = [(clock(), 0)]
        self._last_emit: float | None = None
        self.done = 0

    def rate(self) -> float | None:
        (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 and b1 > b0 else None

    def update(self, done: int, note: str = "", force: bool = False) -> None:
        now = self.clock()
        self.done = done
        self._samples.append((now, done))
        while len(self._samples) > 2 and now - self._samples[0][0] > WINDOW_S:
            self._samples.pop(0)
        finished = self.total is not None and done >= self.total
        if not (force or finished) and self._last_emit is not None and now - self._last_emit < self.min_interval_s:
            return
        self._last_emit = now
        rate = self.rate()
        eta = round((self.total - done) / rate, 1) if rate and self.total is not None and not finished else None
        parts = [f"{self.label}: {human_bytes(done)}"]
        if self.total is not None:
            parts[0] += f" of {human_bytes(self.total)}"
        if rate:
            parts.append(f"{human_bytes(rate)}/s")
        if eta is not None:
            parts.append(f"{human_seconds(eta)} left")
        if note:
            parts.append(note)
        event = protocol.progress_event(done, self.total or 0, eta, ", ".join(parts))
        event |= {"bytes": done, "total_bytes": self.total, "rate_bps": round(rate) if rate else None}
        self._emit(event)

    def restart(self, done: int = 0) -> None:
        """After a reconnect: the rate window starts again where the transfer resumes."""
        self._samples = [(self.clock(), done)]
