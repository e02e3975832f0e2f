"""What the catalog (hashes, sidecars, search) needs beyond ports.py; AWS and local adapters
implement these beside the tree store they share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .ports import StoredObject


@dataclass(frozen=True)
class SmallFile:
    data: bytes
    version: str  # S3 ETag / local size+mtime: what a conditional replace compares


class SidecarFiles(Protocol):
    """Small files beside the models (previews, NAME.json), read and written whole.

    Keys are tree keys (`Lora/x.json`) or, for reading a job's image, the key a job
    output record names. Writes are atomic: a reader sees the old file or the new one."""

    def read(self, key: str, max_bytes: int) -> SmallFile | None:
        """The file, or None when absent; raises InvalidInput when it is over max_bytes."""

    def write(self, key: str, data: bytes, content_type: str) -> None: ...

    def replace(self, key: str, data: bytes, content_type: str, expected_version: str | None) -> None:
        """Write only if the file is still at `expected_version` (None: only if absent);
        raises Conflict when another writer changed it since it was read."""

    def delete(self, key: str) -> None: ...


class CatalogIndex(Protocol):
    """The catalog (ModelCatalog's facts) read in bulk: search pages and hash lookups."""

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        """Facts of those keys that have any (absent keys are left out)."""

    def hashed(self, prefix: str = "") -> Iterable[tuple[str, dict]]:
        """(key, facts) of every catalogued model whose recorded sha256 starts with
        `prefix` (lowercase hex; "" = every model with a sha256): hash search and
        duplicates. Adapters answer from an index on the hash, never by reading every row."""


class HashTracker(Protocol):
    """Who computes sha256s (a background hasher locally, S3 events on AWS)."""

    def state(self, obj: StoredObject) -> dict:
        """{"status": "done", "sha256": …, "verified": bool} when known for these bytes, else
        {"status": "hashing", "hashed_bytes": n} or {"status": "pending"}; asking for the
        state of an unhashed model is what queues it (never blocking the caller)."""
