"""Resumable presigned multipart uploads into the model tree.

The client PUTs parts straight to storage (S3 presigned URLs, or URLs the local
server signs itself), so a dropped connection loses at most the parts in flight:
`status` lists what storage already holds and fresh URLs for the rest.

Completing publishes a model, so it runs under a lock per model key: concurrent
completes of one upload answer the same result, two uploads to one name cannot both
publish (the second one re-checks `overwrite` once the first is done), and the file
and its catalog entry change together. An upload past `expires_at` is expired, not
completed.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sdaws.contract.errors import Conflict, InvalidInput, NotFound
from sdaws.contract.model_tree import canonical_type, normalize_upload_name

from .ports import Clock, ModelCatalog, MultipartStore, ObjectStore, StoredPart, UploadRecord, UploadRecords

MiB = 1024 * 1024
DEFAULT_PART_SIZE = 64 * MiB
MAX_PARTS = 10_000  # S3's limit on parts per upload
UPLOAD_LIFETIME = timedelta(days=7)  # matches the bucket's abort-incomplete rule
PART_URL_SECONDS = 6 * 3600


def choose_part_size(size: int, preferred: int = DEFAULT_PART_SIZE) -> int:
    """Smallest whole-MiB part size >= preferred that keeps the upload within S3's part limit."""
    needed = math.ceil(size / MAX_PARTS)
    return max(preferred, math.ceil(needed / MiB) * MiB)


def expected_part_size(record: UploadRecord, part_number: int) -> int:
    """The size part `part_number` of this upload must have (the last one takes the rest)."""
    if part_number < record.part_count:
        return record.part_size
    return record.size - record.part_size * (record.part_count - 1)


class KeyLocks:
    """One lock per key, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[key]


def _check_upload_id(upload_id: str) -> str:
    try:
        return uuid.UUID(upload_id).hex
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"no upload {upload_id!r}; start one with POST /uploads") from None


class UploadService:
    def __init__(
        self,
        store: ObjectStore,
        multipart: MultipartStore,
        records: UploadRecords,
        catalog: ModelCatalog,
        clock: Clock,
        max_bytes: int,
        part_size: int = DEFAULT_PART_SIZE,
    ) -> None:
        self.store = store
        self.multipart = multipart
        self.records = records
        self.catalog = catalog
        self.clock = clock
        self.max_bytes = max_bytes
        self.part_size = part_size
        self._keys = KeyLocks()

    # -- helpers -----------------------------------------------------------------
    def _record(self, upload_id: str) -> UploadRecord:
        record = self.records.get(_check_upload_id(upload_id))
        if record is None:
            raise NotFound(f"no upload {upload_id!r}; start one with POST /uploads")
        return record

    def _urls(self, record: UploadRecord, numbers: list[int]) -> list[dict]:
        return [
            {
                "part_number": n,
                "url": self.multipart.part_url(record.key, record.storage_upload_id, n, PART_URL_SECONDS),
            }
            for n in numbers
        ]

    def _expired(self, record: UploadRecord) -> bool:
        return record.status == "open" and self.clock.now() >= record.expires_at

    def _expire(self, record: UploadRecord) -> UploadRecord:
        """Drop an expired upload's parts and record it as expired; returns the record as it now is."""
        self.multipart.abort(record.key, record.storage_upload_id)
        self.records.transition(record.upload_id, "open", "expired")
        return self._record(record.upload_id)

    @staticmethod
    def _summary(record: UploadRecord) -> dict:
        return {
            "upload_id": record.upload_id,
            "type": record.model_type,
            "name": record.name,
            "size": record.size,
            "part_size": record.part_size,
            "part_count": record.part_count,
            "expires_at": record.expires_at.isoformat(),
        }

    # -- use cases ---------------------------------------------------------------
    def create(
        self, model_type: str, filename: str, size: int, sha256: str | None = None, overwrite: bool = False
    ) -> dict:
        folder = canonical_type(model_type)
        name = normalize_upload_name(filename)
        if size <= 0:
            raise InvalidInput("size must be the file's size in bytes, greater than 0")
        if size > self.max_bytes:
            raise InvalidInput(f"size {size} is over the limit of {self.max_bytes} bytes")
        key = f"{folder}/{name}"
        if not overwrite and self.store.head(key) is not None:
            raise Conflict(f"{key} already exists; delete it first or pass overwrite=true")
        part_size = choose_part_size(size, self.part_size)
        now = self.clock.now()
        record = UploadRecord(
            upload_id=uuid.uuid4().hex,
            model_type=folder,
            name=name,
            size=size,
            part_size=part_size,
            part_count=max(1, math.ceil(size / part_size)),
            storage_upload_id="",
            status="open",
            created_at=now,
            expires_at=now + UPLOAD_LIFETIME,
            sha256=sha256.lower() if sha256 else None,
            overwrite=overwrite,
        )
        record.storage_upload_id = self.multipart.create(key, record.sha256)
        try:
            self.records.put(record)
        except Exception:  # e.g. a full disk: no upload is left behind that no record knows
            self.multipart.abort(key, record.storage_upload_id)
            raise
        parts = self._urls(record, list(range(1, record.part_count + 1)))
        return self._summary(record) | {"parts": parts}

    def status(self, upload_id: str) -> dict:
        record = self._record(upload_id)
        if self._expired(record):
            with self._keys.hold(record.key):
                record = self._expire(record)
        done: list[StoredPart] = []
        missing: list[int] = []
        if record.status == "open":
            done = [
                p
                for p in self.multipart.list_parts(record.key, record.storage_upload_id)
                if 1 <= p.part_number <= record.part_count and p.size == expected_part_size(record, p.part_number)
            ]
            have = {p.part_number for p in done}
            missing = [n for n in range(1, record.part_count + 1) if n not in have]
        return self._summary(record) | {
            "status": record.status,
            "parts_done": [{"part_number": p.part_number, "size": p.size, "etag": p.etag} for p in done],
            "parts_missing": self._urls(record, missing),
        }

    def complete(self, upload_id: str, sha256: str | None = None) -> dict:
        """Assemble the parts. `sha256` is the whole file's hash as the uploader computed it
        while sending (it cannot know it at create without a second pass over the file)."""
        record = self._record(upload_id)
        if record.status == "completed":
            return record.result  # a retried complete answers the same
        with self._keys.hold(record.key):
            return self._complete(self._record(upload_id), sha256)

    def _complete(self, record: UploadRecord, sha256: str | None) -> dict:
        upload_id = record.upload_id
        if record.status == "completed":
            return record.result  # a concurrent complete of this upload finished first
        if self._expired(record):
            record = self._expire(record)
            raise Conflict(
                f"upload {upload_id} expired at {record.expires_at.isoformat()}; its parts were dropped, "
                "start a new upload"
            )
        if record.status != "open":
            raise Conflict(f"upload {upload_id} was {record.status}; start a new upload")
        parts = {p.part_number: p for p in self.multipart.list_parts(record.key, record.storage_upload_id)}
        missing = [n for n in range(1, record.part_count + 1) if n not in parts]
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (" …" if len(missing) > 20 else "")
            raise Conflict(f"parts not uploaded yet: {shown}; GET /uploads/{upload_id} for their URLs")
        wrong = [
            n for n, p in sorted(parts.items()) if n <= record.part_count and p.size != expected_part_size(record, n)
        ]
        if wrong:
            raise Conflict(f"parts {wrong} have the wrong size; upload them again, then complete")
        claimed = sha256.lower() if sha256 else None
        if claimed and record.sha256 and claimed != record.sha256:
            raise InvalidInput(
                f"sha256 {claimed} differs from the {record.sha256} given when the upload started; "
                "check the file did not change, then start a new upload"
            )
        if not record.overwrite and self.store.head(record.key) is not None:
            raise Conflict(
                f"{record.key} was created (by another upload?) while this one was in flight; "
                "delete it and complete again, or abort this upload and start one with overwrite=true"
            )
        expected = claimed or record.sha256
        ordered = [parts[n] for n in range(1, record.part_count + 1)]
        computed = self.multipart.complete(record.key, record.storage_upload_id, ordered, expected)
        digest = computed or expected
        result = {
            "type": record.model_type,
            "name": record.name,
            "size": record.size,
            "sha256": digest,
            "sha256_verified": computed is not None,
        }
        self.catalog.put(record.key, {"sha256": digest, "size": record.size, "sha256_verified": computed is not None})
        if not self.records.transition(upload_id, "open", "completed", result):
            current = self._record(upload_id)
            if current.status == "completed":
                return current.result
            raise Conflict(f"upload {upload_id} was {current.status} while completing")
        return result

    def abort(self, upload_id: str) -> dict:
        record = self._record(upload_id)
        with self._keys.hold(record.key):  # never while a complete of this key reads the parts
            record = self._record(upload_id)
            if record.status in ("aborted", "expired"):
                return {"aborted": True}
            if record.status != "open":
                raise Conflict(f"upload {upload_id} is already {record.status}; nothing to abort")
            self.multipart.abort(record.key, record.storage_upload_id)
            self.records.transition(record.upload_id, "open", "aborted")
        return {"aborted": True}
