"""What the core needs from the outside world. AWS and local adapters implement these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class StoredPart:
    part_number: int
    size: int
    etag: str


@dataclass
class UploadRecord:
    upload_id: str
    model_type: str
    name: str
    size: int
    part_size: int
    part_count: int
    storage_upload_id: str
    status: str  # open | completed | aborted | expired
    created_at: datetime
    expires_at: datetime
    sha256: str | None = None
    result: dict = field(default_factory=dict)
    overwrite: bool = False  # complete re-checks it: another upload may have created the name meanwhile

    @property
    def key(self) -> str:
        return f"{self.model_type}/{self.name}"


class ObjectStore(Protocol):
    """The model tree: S3 bucket or local folder, keyed `<Type>/<name>`."""

    def list_files(self, prefix: str, start_after: str | None, limit: int) -> tuple[list[StoredObject], bool]:
        """Files directly under the folder part of `prefix`, key-ordered, after `start_after`.

        Returns (objects, more) where `more` says whether further objects follow.
        """

    def head(self, key: str) -> StoredObject | None: ...

    def read_range(self, key: str, start: int, length: int) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def folder_exists(self, folder: str) -> bool: ...

    # Converted models are folders (a diffusers pipeline), found by the `marker` file they hold.
    def list_folders(
        self, prefix: str, start_after: str | None, limit: int, marker: str
    ) -> tuple[list[StoredObject], bool]:
        """Like `list_files`, for folders holding `marker`; each object's size is the folder's total."""

    def head_folder(self, key: str, marker: str) -> StoredObject | None: ...

    def delete_folder(self, key: str) -> None: ...


class MultipartStore(Protocol):
    """Multipart uploads into the model tree with presigned part URLs."""

    def create(self, key: str, sha256: str | None) -> str:
        """Start an upload; returns the storage's upload id."""

    def part_url(self, key: str, storage_upload_id: str, part_number: int, expires_s: int) -> str: ...

    def list_parts(self, key: str, storage_upload_id: str) -> list[StoredPart]: ...

    def complete(self, key: str, storage_upload_id: str, parts: list[StoredPart], sha256: str | None) -> str | None:
        """Assemble the object atomically; returns its sha256 when the store computed it."""

    def abort(self, key: str, storage_upload_id: str) -> None: ...


class UploadRecords(Protocol):
    def put(self, record: UploadRecord) -> None: ...

    def get(self, upload_id: str) -> UploadRecord | None: ...

    def transition(self, upload_id: str, expected: str, new: str, result: dict | None = None) -> bool:
        """Set status to `new` only if it is `expected`; False when another writer won."""


class ModelCatalog(Protocol):
    """Facts about models that storage does not keep cheaply (sha256)."""

    def get(self, key: str) -> dict | None: ...

    def put(self, key: str, facts: dict) -> None: ...

    def delete(self, key: str) -> None: ...


class TokenVerifier(Protocol):
    def verify(self, presented: str) -> bool: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
