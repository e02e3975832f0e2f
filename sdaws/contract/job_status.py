"""Job lifecycle: statuses only move forward.

QUEUED → STARTING → RUNNING → SUCCEEDED | FAILED | CANCELLED. A step may be
skipped (an event saying "completed" can arrive before "running"), but never
reversed, and a final status is never left. Stores enforce this by making every
write conditional on the statuses that may precede the new one, so concurrent,
duplicated or out-of-order updates can never lose or undo a transition.
"""

from __future__ import annotations

QUEUED, STARTING, RUNNING = "QUEUED", "STARTING", "RUNNING"
SUCCEEDED, FAILED, CANCELLED = "SUCCEEDED", "FAILED", "CANCELLED"

STATUSES: tuple[str, ...] = (QUEUED, STARTING, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINAL: frozenset[str] = frozenset({SUCCEEDED, FAILED, CANCELLED})
ACTIVE: tuple[str, ...] = (STARTING, RUNNING)
_RANK = {QUEUED: 0, STARTING: 1, RUNNING: 2, SUCCEEDED: 3, FAILED: 3, CANCELLED: 3}


def is_final(status: str) -> bool:
    return status in FINAL


def can_move(current: str, new: str) -> bool:
    """Whether a job in `current` may move to `new` (strictly forward, never out of a final status)."""
    return current not in FINAL and _RANK[new] > _RANK[current]


def predecessors(new: str) -> tuple[str, ...]:
    """The statuses a write of `new` may replace: the condition of every status write."""
    if new not in _RANK:
        raise ValueError(f"unknown job status {new!r}; one of {', '.join(STATUSES)}")
    return tuple(s for s in STATUSES if can_move(s, new))
