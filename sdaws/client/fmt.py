"""Human-readable sizes, rates and durations shared by the TUI and the CLI."""

from __future__ import annotations

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def size(nbytes: int | float | None) -> str:
    if nbytes is None:
        return "—"
    value = float(nbytes)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover


def rate(bytes_per_s: float) -> str:
    return f"{size(bytes_per_s)}/s"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def timestamp(iso: str | None) -> str:
    """'2026-11-23T10:00:00+00:00' -> '2026-11-23 10:00' (shown as stored: UTC)."""
    if not iso:
        return "—"
    return iso.replace("T", " ")[:16]


def count(n: int) -> str:
    return f"{n:,}"
