"""The model tree as a local folder (for example stable-diffusion-webui/models)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sam_app.core.ports import StoredObject


class LocalTreeStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        # Keys are validated by the core; this lexical check guards against anything that
        # slips through. Symlinks are not resolved on purpose: WebUI users often link
        # checkpoints in from another disk, and those files belong to the tree.
        root = os.path.normpath(os.path.abspath(self.root))
        path = os.path.normpath(os.path.join(root, key))
        if os.path.isabs(key) or os.path.dirname(path) == path or not path.startswith(root + os.sep):
            raise ValueError(f"key {key!r} is outside the model root")
        return Path(path)

    @staticmethod
    def _object(key: str, stat: os.stat_result) -> StoredObject:
        return StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def list_files(self, prefix: str, start_after: str | None, limit: int) -> tuple[list[StoredObject], bool]:
        folder, _, name_prefix = prefix.partition("/")
        directory = self.root / folder
        try:
            entries = [
                e
                for e in os.scandir(directory)
                if not e.name.startswith(".") and e.name.startswith(name_prefix) and e.is_file()
            ]
        except (FileNotFoundError, NotADirectoryError):
            return [], False
        # Byte order, like S3 listings, so cursors mean the same in both worlds.
        entries.sort(key=lambda e: e.name.encode("utf-8"))
        if start_after is not None:
            after = start_after.partition("/")[2].encode("utf-8")
            entries = [e for e in entries if e.name.encode("utf-8") > after]
        page = entries[:limit]
        objects = []
        for entry in page:
            try:
                objects.append(self._object(f"{folder}/{entry.name}", entry.stat()))
            except FileNotFoundError:  # deleted between scandir and stat
                continue
        return objects, len(entries) > limit

    def head(self, key: str) -> StoredObject | None:
        try:
            path = self.path(key)
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return self._object(key, stat) if path.is_file() else None

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with open(self.path(key), "rb") as fh:
            fh.seek(start)
            return fh.read(length)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def folder_exists(self, folder: str) -> bool:
        return (self.root / folder).is_dir()
