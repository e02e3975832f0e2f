"""Wall clock in UTC (the core takes a Clock so tests can fix time)."""

from __future__ import annotations

from datetime import UTC, datetime


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
