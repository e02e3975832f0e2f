"""In-memory fakes of the catalog's ports, for core tests. They answer as the real
adapters do: the tree lists in UTF-8 byte order with the name-prefix and start-after
rules of LocalTreeStore / S3 (hidden names skipped), versions change on every write."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sam_app.core.catalog_ports import SmallFile
from sam_app.core.ports import StoredObject
from sdaws.contract.errors import Conflict, InvalidInput


class MemoryTree:
    """ObjectStore + SidecarFiles over one dict, like one bucket or one folder."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, datetime]] = {}
        self._clock = datetime(2025, 1, 1, tzinfo=UTC)
        self.list_calls = 0
        self.reads: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        self._clock += timedelta(seconds=1)
        self.files[key] = (bytes(data), self._clock)

    # ObjectStore
    def list_files(self, prefix: str, start_after: str | None, limit: int) -> tuple[list[StoredObject], bool]:
        self.list_calls += 1
        folder, _, name_prefix = prefix.partition("/")
        names = sorted(
            (k.split("/", 1)[1] for k in self.files if k.startswith(folder + "/") and k.count("/") == 1),
            key=lambda n: n.encode("utf-8"),
        )
        names = [n for n in names if n.startswith(name_prefix) and not n.startswith(".")]
        if start_after is not None:
            after = start_after.partition("/")[2].encode("utf-8")
            names = [n for n in names if n.encode("utf-8") > after]
        page = names[:limit]
        return [self.head(f"{folder}/{n}") for n in page], len(names) > limit  # type: ignore[misc]

    def head(self, key: str) -> StoredObject | None:
        if key not in self.files:
            return None
        data, modified = self.files[key]
        return StoredObject(key, len(data), modified)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        self.reads.append(key)
        return self.files[key][0][start : start + length]

    def delete(self, key: str) -> None:
        self.files.pop(key, None)

    def folder_exists(self, folder: str) -> bool:
        return any(k.startswith(folder + "/") for k in self.files)

    # SidecarFiles
    def _version(self, key: str) -> str:
        data, modified = self.files[key]
        return f"{len(data)}-{modified.timestamp()}"

    def read(self, key: str, max_bytes: int) -> SmallFile | None:
        if key not in self.files:
            return None
        data = self.files[key][0]
        if len(data) > max_bytes:
            raise InvalidInput(f"{key} is over {max_bytes} bytes")
        return SmallFile(data, self._version(key))

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self.put(key, data)

    def replace(self, key: str, data: bytes, content_type: str, expected_version: str | None) -> None:
        current = self._version(key) if key in self.files else None
        if current != expected_version:
            raise Conflict(f"{key} changed while it was edited; read it again")
        self.put(key, data)


class MemoryCatalog:
    """ModelCatalog + CatalogIndex."""

    def __init__(self) -> None:
        self.facts: dict[str, dict] = {}

    def get(self, key: str) -> dict | None:
        return self.facts.get(key)

    def put(self, key: str, facts: dict) -> None:
        self.facts[key] = dict(facts)

    def delete(self, key: str) -> None:
        self.facts.pop(key, None)

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        return {k: self.facts[k] for k in keys if k in self.facts}

    def hashed(self, prefix: str = ""):
        return [
            (k, f)
            for k, f in self.facts.items()
            if str(f.get("sha256") or "").lower().startswith(prefix) and f.get("sha256")
        ]


class InstantHasher:
    """A HashTracker that has already hashed every file it is asked about (the
    background hasher once it is done); `pending` keys report "hashing"."""

    def __init__(self, tree: MemoryTree, catalog: MemoryCatalog) -> None:
        self.tree, self.catalog = tree, catalog
        self.pending: set[str] = set()

    def state(self, obj: StoredObject) -> dict:
        if obj.key in self.pending:
            return {"status": "hashing", "hashed_bytes": 0}
        facts = self.catalog.get(obj.key) or {}
        if facts.get("sha256") and facts.get("size") == obj.size:
            return {"status": "done", "sha256": facts["sha256"], "verified": True}
        sha = hashlib.sha256(self.tree.files[obj.key][0]).hexdigest()
        self.catalog.put(obj.key, {**facts, "sha256": sha, "size": obj.size})
        return {"status": "done", "sha256": sha, "verified": True}
