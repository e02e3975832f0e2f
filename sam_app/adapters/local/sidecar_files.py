"""SidecarFiles on local disk: previews and NAME.json beside the models, read and written whole.

Writes go to a hidden temp file in the same folder, then os.replace: the WebUI (or a
listing) sees the old file or the new one, never half of one, and hidden names never
show up in a listing. The version a conditional replace compares is size + mtime + inode,
which any writer (this server, the WebUI, an editor) changes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from sam_app.core.catalog_ports import SmallFile
from sdaws.contract.errors import Conflict, InvalidInput

from .atomic_write import SIDECAR_TEMP_SUFFIX, write_atomically


def _version(stat: os.stat_result) -> str:
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}"


class LocalSidecarFiles:
    def __init__(self, path_of: Callable[[str], Path]) -> None:
        """`path_of` maps a key to its file (KeyPaths.path: tree keys and job outputs)."""
        self.path_of = path_of
        self._lock = threading.Lock()  # one conditional replace at a time in this server

    def read(self, key: str, max_bytes: int) -> SmallFile | None:
        path = self.path_of(key)
        try:
            with open(path, "rb") as fh:
                stat = os.fstat(fh.fileno())
                if stat.st_size > max_bytes:
                    raise InvalidInput(f"{key} is {stat.st_size} bytes, over the {max_bytes} a sidecar may have")
                data = fh.read(max_bytes + 1)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        if len(data) > max_bytes:
            raise InvalidInput(f"{key} grew past {max_bytes} bytes while it was read")
        return SmallFile(data, _version(stat))

    def _current_version(self, path: Path) -> str | None:
        try:
            return _version(path.stat())
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data, mode=0o644, temp_suffix=SIDECAR_TEMP_SUFFIX)

    def replace(self, key: str, data: bytes, content_type: str, expected_version: str | None) -> None:
        path = self.path_of(key)
        with self._lock:
            if self._current_version(path) != expected_version:
                raise Conflict(f"{key} changed while it was being edited (in the WebUI?); load it again and retry")
            self.write(key, data, content_type)

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)
