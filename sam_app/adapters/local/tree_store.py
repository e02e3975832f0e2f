"""The model tree as a local folder (for example stable-diffusion-webui/models)."""

from __future__ import annotations

import os
import shutil
import stat as stat_mode
from datetime import UTC, datetime
from pathlib import Path

from sam_app.core.ports import StoredObject


def stat_is_file(stat: os.stat_result) -> bool:
    return stat_mode.S_ISREG(stat.st_mode)


def _is_file(entry: os.DirEntry) -> bool:
    """A regular file, following links; a link loop or dangling link is not one (and no error)."""
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


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
                if not e.name.startswith(".") and e.name.startswith(name_prefix) and _is_file(e)
            ]
        except (FileNotFoundError, NotADirectoryError, PermissionError):
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
            except OSError:  # deleted between scandir and stat, or a link that leads nowhere
                continue
        return objects, len(entries) > limit

    def head(self, key: str) -> StoredObject | None:
        path = self.path(key)
        try:
            stat = path.stat()
        except OSError:  # missing, a link loop or dangling link, a name too long for this filesystem
            return None
        return self._object(key, stat) if stat_is_file(stat) else None

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with open(self.path(key), "rb") as fh:
            fh.seek(start)
            return fh.read(length)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def folder_exists(self, folder: str) -> bool:
        return (self.root / folder).is_dir()

    # -- converted (diffusers) folders: one model is a folder holding `marker` --------------

    def _folder_object(self, key: str, marker: str) -> StoredObject | None:
        path = self.path(key)
        try:
            stamp = (path / marker).stat()
        except OSError:  # missing, not a folder, a link loop
            return None
        size = 0
        for base, _, files in os.walk(path):  # links to folders are not followed: a loop cannot hang us
            for name in files:
                try:
                    size += os.stat(os.path.join(base, name)).st_size
                except OSError:
                    continue
        return StoredObject(key, size, datetime.fromtimestamp(stamp.st_mtime, UTC))

    def list_folders(
        self, prefix: str, start_after: str | None, limit: int, marker: str
    ) -> tuple[list[StoredObject], bool]:
        """Folders directly under the folder part of `prefix` that hold `marker`, in the order
        S3 lists their keys (`name/` byte order), after `start_after`; sizes are their totals."""
        folder, _, name_prefix = prefix.partition("/")
        try:
            names = [
                e.name
                for e in os.scandir(self.root / folder)
                if not e.name.startswith(".") and e.name.startswith(name_prefix) and _is_dir(e)
            ]
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return [], False
        names.sort(key=lambda n: (n + "/").encode("utf-8"))
        if start_after is not None:
            after = (start_after.partition("/")[2] + "/").encode("utf-8")
            names = [n for n in names if (n + "/").encode("utf-8") > after]
        objects: list[StoredObject] = []
        for name in names:
            found = self._folder_object(f"{folder}/{name}", marker)
            if found is None:
                continue
            if len(objects) == limit:
                return objects, True
            objects.append(found)
        return objects, False

    def head_folder(self, key: str, marker: str) -> StoredObject | None:
        return self._folder_object(key, marker)

    def delete_folder(self, key: str) -> None:
        path = self.path(key)
        if path.is_symlink():  # a linked-in folder: drop the link, never the files it points at
            path.unlink()
        elif path.is_dir():
            shutil.rmtree(path)
