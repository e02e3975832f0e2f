"""A full disk (or quota) becomes StorageFull naming the place, never a bare 500.

Local adapters wrap their writes in `disk_full_is_reported(place)`: ENOSPC and EDQUOT
from the OS, and SQLITE_FULL from SQLite, become StorageFull("the disk holding <place>
is full …"), which the API answers with 507. Callers remove what they half-wrote in
their own `finally`, so the message can promise that nothing was.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sdaws.contract.errors import StorageFull

FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
SQLITE_FULL = 13


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in FULL_ERRNOS
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL or "database or disk is full" in str(exc)
    return False


def storage_full(place: Path | str, what_is_kept: str = "nothing was half-written") -> StorageFull:
    return StorageFull(f"the disk holding {place} is full; free some space, then retry ({what_is_kept})")


@contextmanager
def disk_full_is_reported(place: Path | str, what_is_kept: str = "nothing was half-written") -> Iterator[None]:
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        if is_disk_full(exc):
            raise storage_full(place, what_is_kept) from exc
        raise
