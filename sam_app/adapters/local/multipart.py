"""Multipart uploads into the local model folder.

Parts land in `<data>/uploads/<id>/<n>.part` (written to a temp name and renamed,
so a dropped connection never leaves a partial part that looks complete). A part is
refused before its first byte unless it has exactly the size the upload was created
with, so no token holder can park more than the declared size on the disk.

Complete concatenates the parts into a hidden temp file in the target's folder
(`.sdaws-upload-<id>.tmp`: a rename into place must stay on one filesystem), checks
the sha256, then renames: the model appears whole or not at all. A journal beside
the parts (`<data>/uploads/<id>.publish.json`) names the temp file first, so a
restart after kill -9 finds and removes it, or finishes a complete whose rename had
already happened (see upload_sweeper). The parts stay until the record is final,
so a complete that failed (a full disk, say) can simply be retried. On a sha256
mismatch the parts are dropped: they hold bytes that are not the file, and the
upload's status then lists every part as missing, so the retry sends them again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sam_app.core.ports import Clock, StoredPart, UploadRecord
from sam_app.core.uploads_service import expected_part_size
from sdaws.contract.errors import Conflict, InvalidInput, NotFound

from .atomic_write import write_atomically
from .disk_full import disk_full_is_reported
from .signing import PartSigner
from .tree_store import LocalTreeStore

CHUNK = 8 * 1024 * 1024
TEMP_PREFIX = ".sdaws-upload-"
TEMP_SUFFIX = ".tmp"
JOURNAL_SUFFIX = ".publish.json"
PARTS_KEPT = "the parts already stored are kept; the upload can resume"
open_file = open  # the filesystem call tests replace to simulate a full disk


class LocalMultipart:
    def __init__(
        self,
        tree: LocalTreeStore,
        uploads_dir: Path,
        signer: PartSigner,
        base_url: Callable[[], str],
        find_record: Callable[[str], UploadRecord | None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.tree = tree
        self.uploads_dir = Path(uploads_dir)
        self.signer = signer
        self.base_url = base_url
        self.find_record = find_record  # storage upload id -> its record (the part size rule)
        self.clock = clock

    def _dir(self, storage_upload_id: str) -> Path:
        return self.uploads_dir / uuid.UUID(storage_upload_id).hex

    def journal(self, storage_upload_id: str) -> Path:
        return self.uploads_dir / f"{uuid.UUID(storage_upload_id).hex}{JOURNAL_SUFFIX}"

    def _target(self, key: str) -> Path:
        target = self.tree.path(key)
        if os.path.lexists(target) and not target.is_file():
            raise Conflict(f"{key} exists and is not a file (a folder?); choose another name")
        return target

    def create(self, key: str, sha256: str | None) -> str:
        self._target(key)
        storage_id = uuid.uuid4().hex
        with disk_full_is_reported(self.uploads_dir):
            self.uploads_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._dir(storage_id).mkdir(mode=0o700)
        return storage_id

    def part_url(self, key: str, storage_upload_id: str, part_number: int, expires_s: int) -> str:
        query = self.signer.query(storage_upload_id, part_number, expires_s)
        return f"{self.base_url()}/_parts/{storage_upload_id}/{part_number}?{query}"

    def check_part(self, storage_upload_id: str, part_number: int, length: int) -> None:
        """Refuse a part before reading it: unknown or closed upload, part number, exact size."""
        record = self.find_record(uuid.UUID(storage_upload_id).hex) if self.find_record else None
        if record is None:
            raise NotFound("no such upload; start one with POST /uploads")
        now = self.clock.now() if self.clock else datetime.now(UTC)
        if record.status == "open" and now >= record.expires_at:
            raise Conflict(f"this upload expired at {record.expires_at.isoformat()}; start a new upload")
        if record.status != "open":
            raise Conflict(f"this upload is {record.status}; start a new upload")
        if not 1 <= part_number <= record.part_count:
            raise InvalidInput(f"part {part_number} is not within 1..{record.part_count} for this upload")
        expected = expected_part_size(record, part_number)
        if length != expected:
            raise InvalidInput(
                f"part {part_number} must be exactly {expected} bytes (the size this upload was created with), "
                f"not {length}"
            )

    def write_part(self, storage_upload_id: str, part_number: int, stream, length: int) -> str:
        """Store one part of exactly `length` bytes from `stream`; returns its ETag (md5, as S3 does)."""
        self.check_part(storage_upload_id, part_number, length)
        directory = self._dir(storage_upload_id)
        md5 = hashlib.md5(usedforsecurity=False)
        temp = directory / f".{part_number}.{uuid.uuid4().hex}.tmp"
        remaining = length
        try:
            with disk_full_is_reported(self.uploads_dir, PARTS_KEPT):
                with open_file(temp, "wb") as fh:
                    while remaining:
                        chunk = stream.read(min(CHUNK, remaining))
                        if not chunk:
                            raise InvalidInput(f"connection ended {remaining} bytes early; send the part again")
                        fh.write(chunk)
                        md5.update(chunk)
                        remaining -= len(chunk)
                etag = f'"{md5.hexdigest()}"'
                (directory / f"{part_number}.etag").write_text(etag)
                os.replace(temp, directory / f"{part_number}.part")
        except FileNotFoundError:  # aborted (or completed) while this part was on its way
            raise Conflict("this upload was closed while the part was sent; GET /uploads/<id> to see it") from None
        finally:
            temp.unlink(missing_ok=True)
        return etag

    def list_parts(self, key: str, storage_upload_id: str) -> list[StoredPart]:
        directory = self._dir(storage_upload_id)
        parts = []
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return []
        for entry in entries:
            stem, dot, ext = entry.name.partition(".")
            if ext == "part" and stem.isascii() and stem.isdigit():
                try:
                    size = entry.stat().st_size
                    etag = (directory / f"{stem}.etag").read_text()
                except FileNotFoundError:  # replaced or dropped meanwhile; an etag is written first
                    continue
                parts.append(StoredPart(int(stem), size, etag))
        return sorted(parts, key=lambda p: p.part_number)

    def complete(self, key: str, storage_upload_id: str, parts: list[StoredPart], sha256: str | None) -> str | None:
        directory = self._dir(storage_upload_id)
        target = self._target(key)
        journal = self.journal(storage_upload_id)
        temp = target.parent / f"{TEMP_PREFIX}{uuid.UUID(storage_upload_id).hex}{TEMP_SUFFIX}"
        facts = {"temp": str(temp), "target": str(target), "key": key, "state": "assembling"}
        digest = hashlib.sha256()
        published = False
        try:
            with disk_full_is_reported(target.parent, "the uploaded parts are kept; complete again once there is room"):
                target.parent.mkdir(parents=True, exist_ok=True)
                write_atomically(journal, json.dumps(facts).encode())
                with open_file(temp, "wb") as out:
                    for part in parts:
                        with open(directory / f"{part.part_number}.part", "rb") as src:
                            while chunk := src.read(CHUNK):
                                digest.update(chunk)
                                out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                computed = digest.hexdigest()
                if sha256 and computed != sha256:
                    self._drop_parts(directory)
                    raise Conflict(
                        f"sha256 of the uploaded bytes is {computed}, not {sha256}; nothing was published and the "
                        "stored parts were dropped: send the file again (GET /uploads/<id> lists every part), "
                        "then complete"
                    )
                size = sum(p.size for p in parts)
                write_atomically(
                    journal, json.dumps(facts | {"state": "verified", "sha256": computed, "size": size}).encode()
                )
                os.replace(temp, target)
                published = True
        except FileNotFoundError:
            raise Conflict("this upload's parts are gone (aborted meanwhile?); GET /uploads/<id> to see it") from None
        except IsADirectoryError:
            raise Conflict(f"{key} exists and is a folder; choose another name") from None
        finally:
            temp.unlink(missing_ok=True)
            if not published:
                journal.unlink(missing_ok=True)
        return computed

    @staticmethod
    def _drop_parts(directory: Path) -> None:
        for entry in os.scandir(directory):
            if entry.name.endswith((".part", ".etag")):
                Path(entry.path).unlink(missing_ok=True)

    def discard(self, storage_upload_id: str) -> None:
        """Everything kept for an upload that is over (its record is final)."""
        shutil.rmtree(self._dir(storage_upload_id), ignore_errors=True)
        self.journal(storage_upload_id).unlink(missing_ok=True)

    def abort(self, key: str, storage_upload_id: str) -> None:
        self.discard(storage_upload_id)
