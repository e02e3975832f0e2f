"""The model tree as a local folder (for example stable-diffusion-webui/models)."""

from __future__ import annotations

import bisect
import os
import shutil
import stat as stat_mode
import threading
import time
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


# A folder's change time is trusted only once it is this old: the kernel stamps it from a
# coarse clock (a few ms), so two changes within one tick can leave the same time behind.
SETTLED_S = 2.0


class _FolderNames:
    """The sorted names of one folder's visible files, remembered while the folder is
    unchanged: paging through 100,000 models then costs a bisect and a page of stats
    instead of a scan and sort of the whole folder per page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_folder: dict[Path, tuple[int, int, list[bytes]]] = {}

    def get(self, directory: Path) -> list[bytes]:
        st = os.stat(directory)  # FileNotFoundError / NotADirectoryError: the caller's
        with self._lock:
            known = self._by_folder.get(directory)
        if known and known[:2] == (st.st_ino, st.st_mtime_ns):
            return known[2]
        names = sorted(os.fsencode(e.name) for e in os.scandir(directory) if not e.name.startswith(".") and _is_file(e))
        if time.time() - st.st_mtime_ns / 1e9 > SETTLED_S:  # else: scanned again next time
            with self._lock:
                self._by_folder[directory] = (st.st_ino, st.st_mtime_ns, names)
        return names


class LocalTreeStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._names = _FolderNames()

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
            # Byte order, like S3 listings, so cursors mean the same in both worlds.
            names = self._names.get(directory)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            return [], False
        wanted = os.fsencode(name_prefix)
        first = bisect.bisect_left(names, wanted)
        if start_after is not None:
            first = max(first, bisect.bisect_right(names, os.fsencode(start_after.partition("/")[2])))
        objects, more = [], False
        for raw in names[first:]:
            if not raw.startswith(wanted):
                break  # sorted: the names with this prefix are one run
            if len(objects) == limit:
                more = True
                break
            name = os.fsdecode(raw)
            try:
                stat = os.stat(directory / name)
            except OSError:  # deleted since the scan, or a link that leads nowhere
                continue
            if stat_is_file(stat):
                objects.append(self._object(f"{folder}/{name}", stat))
        return objects, more

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
