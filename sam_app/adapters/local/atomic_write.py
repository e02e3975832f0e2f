"""Small files written whole or not at all: the upload journals and the catalog's sidecars."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

# The temp name a sidecar (NAME.json, NAME.preview.png) is written under in the model tree;
# the upload sweeper removes what a crash left of one.
SIDECAR_TEMP_SUFFIX = ".sdaws-tmp"


def write_atomically(path: Path, data: bytes, *, mode: int = 0o600, temp_suffix: str = ".tmp") -> None:
    """Temp file, fsync, rename, fsync the folder: a reader sees the old bytes or the new, and a
    crash leaves at most a dot-file ending in `temp_suffix` for the sweeper."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}{temp_suffix}")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
