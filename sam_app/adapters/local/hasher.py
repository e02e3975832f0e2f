"""The local HashTracker: sha256 of every model, computed once, in the background.

A request never waits for a hash: `state` answers from the catalog (a hash is trusted
while the file keeps the size and mtime it had when hashed) or queues the file and says
"hashing". One worker thread streams each queued file through the contract's hasher
(big reads into one buffer; OpenSSL's SHA-256 runs faster than the disk), at a lower
CPU priority than the server's threads, and records {sha256, size, modified} in the
catalog. A file that changes while it is hashed is hashed again; one that cannot be
read is reported "failed" until it changes.

A sha256 recorded by an upload (the server computed it while assembling the parts)
has no mtime; the first look adopts the file's current mtime for it rather than
reading gigabytes again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from datetime import UTC, datetime

from sam_app.core.hash_records import hashed_record
from sam_app.core.ports import ModelCatalog, StoredObject
from sdaws.contract.hashes import sha256_of_stream

from .tree_store import LocalTreeStore

logger = logging.getLogger(__name__)
BACKGROUND_NICENESS = 10


def _stamp(obj: StoredObject) -> tuple[int, str]:
    return obj.size, obj.modified.isoformat()


class BackgroundHasher:
    def __init__(self, tree: LocalTreeStore, catalog: ModelCatalog, niceness: int = BACKGROUND_NICENESS) -> None:
        self.tree = tree
        self.catalog = catalog
        self.niceness = niceness
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._queued: set[str] = set()
        self._progress: dict[str, int] = {}
        self._failed: dict[str, tuple[tuple[int, str], str]] = {}
        self._worker: threading.Thread | None = None
        self.hashed = 0  # files hashed since start: "computed once" is checkable

    # HashTracker
    def state(self, obj: StoredObject) -> dict:
        facts = self.catalog.get(obj.key) or {}
        if facts.get("sha256") and facts.get("size") == obj.size:
            if facts.get("modified") == obj.modified.isoformat():
                return self._done(facts)
            if facts.get("modified") is None and facts.get("sha256_verified"):
                self.catalog.put(obj.key, {**facts, "modified": obj.modified.isoformat()})
                return self._done(facts)
        with self._lock:
            failed = self._failed.get(obj.key)
            if failed and failed[0] == _stamp(obj):
                return {"status": "failed", "error": failed[1]}
            if obj.key in self._progress:
                return {"status": "hashing", "hashed_bytes": self._progress[obj.key], "size": obj.size}
            if obj.key not in self._queued:
                self._queued.add(obj.key)
                self._queue.put(obj.key)
                self._ensure_worker()
        return {"status": "hashing", "hashed_bytes": 0, "size": obj.size, "queued": True}

    @staticmethod
    def _done(facts: dict) -> dict:
        state = {"status": "done", "sha256": facts["sha256"], "verified": bool(facts.get("sha256_verified", True))}
        if facts.get("sha256_claimed"):
            state["claimed"] = facts["sha256_claimed"]
        return state

    # -- the worker --------------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="sdaws-hasher", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # lower only this thread (Linux: per-thread nice)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.niceness)
        while True:
            key = self._queue.get()
            try:
                if key is None:
                    return
                self._hash(key)
            except Exception:  # a bug must not kill the worker for every later file
                logger.exception("hashing %s failed", key)
            finally:
                with self._lock:
                    if key is not None:
                        self._queued.discard(key)
                        self._progress.pop(key, None)
                self._queue.task_done()

    def _hash(self, key: str) -> None:
        before = self.tree.head(key)
        if before is None:
            return
        with self._lock:
            self._progress[key] = 0

        def progress(done: int) -> None:
            self._progress[key] = done

        try:
            with open(self.tree.path(key), "rb", buffering=0) as fh:
                digest = sha256_of_stream(fh, progress)
        except OSError as exc:
            with self._lock:
                self._failed[key] = (_stamp(before), f"cannot read the file: {exc.strerror or exc}")
            return
        after = self.tree.head(key)
        if after is None:
            return
        if _stamp(after) != _stamp(before):  # written to while we read it: the hash is of nothing
            with self._lock:
                self._queue.put(key)
                self._queued.add(key)
            return
        facts = self.catalog.get(key) or {}
        claimed = facts.get("sha256") if facts.get("size") == after.size and not facts.get("modified") else None
        record = hashed_record(
            facts, digest, claimed, datetime.now(UTC).isoformat(), size=after.size, modified=after.modified.isoformat()
        )
        if "sha256_claimed" in record:
            logger.warning("%s: recorded sha256 %s, the bytes hash to %s", key, claimed, digest)
        self.catalog.put(key, record)
        with self._lock:
            self._failed.pop(key, None)
        self.hashed += 1

    # -- lifecycle ----------------------------------------------------------------------
    def drain(self) -> None:
        """Block until every queued file is hashed (tests, and a clean shutdown)."""
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
