"""Leftovers of uploads: reconciled at start, swept periodically.

At start (no request is running yet, and this server owns the data dir):
- a complete interrupted by kill -9 left a journal: its temp file is removed; if the
  rename into the tree had already happened, the complete is finished (catalog and
  record), as the client was promised it would be;
- half-written parts (`.<n>.<id>.tmp`), temp files of interrupted completes, sidecar edits or job
  input uploads are removed, wherever they lie.
Then, and every SWEEP_INTERVAL_S: open uploads past `expires_at` are expired (their
parts dropped), and folders of uploads that are over, or that no record knows, go.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from sam_app.core.ports import Clock, ModelCatalog
from sdaws.contract.model_tree import JOB_INPUTS_PREFIX, MODEL_TYPES

from .atomic_write import SIDECAR_TEMP_SUFFIX
from .multipart import JOURNAL_SUFFIX, TEMP_PREFIX, TEMP_SUFFIX, LocalMultipart
from .sqlite_db import SqliteUploadRecords

logger = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 600.0
ORPHAN_AGE_S = 3600.0  # a folder no record knows may be an upload being created right now
OLD_TEMP_SUFFIX = ".sdaws-upload"  # temp names of earlier versions: .<name>.<id>.sdaws-upload


class UploadSweeper:
    def __init__(
        self,
        records: SqliteUploadRecords,
        multipart: LocalMultipart,
        catalog: ModelCatalog,
        clock: Clock,
        models_dir: Path,
        data_dir: Path,
    ) -> None:
        self.records = records
        self.multipart = multipart
        self.catalog = catalog
        self.clock = clock
        self.models_dir = Path(models_dir)
        self.data_dir = Path(data_dir)

    # -- at start ----------------------------------------------------------------
    def recover(self) -> None:
        for journal in sorted(self.multipart.uploads_dir.glob(f"*{JOURNAL_SUFFIX}")):
            try:
                self._reconcile(journal)
            except Exception:  # one bad journal must not stop the server from starting
                logger.exception("could not reconcile %s", journal)
        self._remove_temp_files()
        self.sweep(orphan_age_s=0.0)

    def _reconcile(self, journal: Path) -> None:
        storage_id = journal.name.removesuffix(JOURNAL_SUFFIX)
        try:
            facts = json.loads(journal.read_text())
            temp, target = Path(facts["temp"]), Path(facts["target"])
        except (OSError, ValueError, KeyError, TypeError):
            journal.unlink(missing_ok=True)
            return
        renamed = not temp.exists()
        temp.unlink(missing_ok=True)
        record = self.records.by_storage_id(storage_id)
        if record is None or record.status != "open":
            self.multipart.discard(storage_id)
            return
        if facts.get("state") == "verified" and renamed and _size(target) == facts.get("size") == record.size:
            result = {
                "type": record.model_type,
                "name": record.name,
                "size": record.size,
                "sha256": facts["sha256"],
                "sha256_verified": True,
            }
            self.catalog.put(record.key, {"sha256": facts["sha256"], "size": record.size, "sha256_verified": True})
            self.records.transition(record.upload_id, "open", "completed", result)  # drops parts and journal
            logger.info("finished the interrupted complete of %s", record.key)
            return
        journal.unlink(missing_ok=True)  # nothing was published; the upload stays open for a retry

    def _remove_temp_files(self) -> None:
        folders = [self.models_dir / t for t in MODEL_TYPES]
        for folder in folders:
            for entry in _entries(folder):
                if entry.name.startswith(".") and (
                    (entry.name.startswith(TEMP_PREFIX) and entry.name.endswith(TEMP_SUFFIX))
                    or entry.name.endswith((OLD_TEMP_SUFFIX, SIDECAR_TEMP_SUFFIX))
                ):
                    _remove(entry.path)
        for upload in _entries(self.multipart.uploads_dir):
            if upload.is_dir(follow_symlinks=False):
                for entry in _entries(Path(upload.path)):
                    if entry.name.startswith(".") and entry.name.endswith(".tmp"):
                        _remove(entry.path)
        for group in _entries(self.data_dir / JOB_INPUTS_PREFIX):
            if group.is_dir(follow_symlinks=False):
                for entry in _entries(Path(group.path)):
                    if entry.name.startswith(".upload-"):
                        _remove(entry.path)

    # -- periodically ------------------------------------------------------------
    def sweep(self, orphan_age_s: float = ORPHAN_AGE_S) -> None:
        now = self.clock.now()
        for record in self.records.with_status("open"):
            if now >= record.expires_at:
                self.multipart.discard(record.storage_upload_id)
                self.records.transition(record.upload_id, "open", "expired")
        for entry in _entries(self.multipart.uploads_dir):
            if not entry.is_dir(follow_symlinks=False):
                continue
            try:
                storage_id = uuid.UUID(entry.name).hex
            except ValueError:
                continue
            record = self.records.by_storage_id(storage_id)
            if record is not None and record.status == "open":
                continue
            if record is None and _age(entry.path) < orphan_age_s:
                continue
            self.multipart.discard(storage_id)


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        return list(os.scandir(folder))
    except OSError:
        return []


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        logger.warning("could not remove %s", path, exc_info=True)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _age(path: str) -> float:
    try:
        return time.time() - os.stat(path).st_mtime
    except OSError:
        return 0.0
