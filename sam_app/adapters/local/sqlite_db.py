"""SQLite (WAL) behind the local server: upload records and the model catalog.

One connection per thread; every status change is a conditional UPDATE, the
same rule DynamoDB's condition expressions enforce in AWS. The database is created
0600 (SQLite gives its -wal and -shm files the same mode) in a 0700 folder, and a
full disk is reported as StorageFull naming the folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sam_app.core.ports import UploadRecord

from .disk_full import is_disk_full, storage_full


class _Connection(sqlite3.Connection):
    """A connection whose statements report a full disk as StorageFull."""

    place: Path = Path(".")

    def execute(self, *args, **kwargs):  # type: ignore[override]
        try:
            return super().execute(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if is_disk_full(exc):
                raise storage_full(self.place) from exc
            raise

    def executescript(self, *args, **kwargs):  # type: ignore[override]
        try:
            return super().executescript(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if is_disk_full(exc):
                raise storage_full(self.place) from exc
            raise


def create_private(path: Path) -> None:
    """Create `path` empty and 0600 unless it exists; an existing one is narrowed to 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
    else:
        os.close(fd)


SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    model_key TEXT PRIMARY KEY,
    facts TEXT NOT NULL
);
"""


class SqliteDb:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        create_private(self.path)
        for suffix in ("-wal", "-shm"):  # left by an older version, perhaps wider
            if self.path.with_name(self.path.name + suffix).exists():
                create_private(self.path.with_name(self.path.name + suffix))
        self._local = threading.local()
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    def connect(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, factory=_Connection)
            conn.place = self.path.parent
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn


def _to_json(record: UploadRecord) -> str:
    data = dict(record.__dict__)
    data["created_at"] = record.created_at.isoformat()
    data["expires_at"] = record.expires_at.isoformat()
    return json.dumps(data)


def _from_json(text: str, status: str) -> UploadRecord:
    data = json.loads(text)
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    data["expires_at"] = datetime.fromisoformat(data["expires_at"])
    data["status"] = status
    return UploadRecord(**data)


class SqliteUploadRecords:
    """Upload records; `on_final(record)` runs once a record becomes final (the local
    store drops the upload's parts then, not before: until the record says completed,
    a retried complete still finds them)."""

    def __init__(self, db: SqliteDb, on_final: Callable[[UploadRecord], None] | None = None) -> None:
        self.db = db
        self.on_final = on_final

    def put(self, record: UploadRecord) -> None:
        self.db.connect().execute(
            "INSERT INTO uploads (upload_id, record, status) VALUES (?, ?, ?)",
            (record.upload_id, _to_json(record), record.status),
        )

    def get(self, upload_id: str) -> UploadRecord | None:
        row = (
            self.db.connect().execute("SELECT record, status FROM uploads WHERE upload_id = ?", (upload_id,)).fetchone()
        )
        return _from_json(*row) if row else None

    def by_storage_id(self, storage_upload_id: str) -> UploadRecord | None:
        row = (
            self.db.connect()
            .execute(
                "SELECT record, status FROM uploads WHERE json_extract(record, '$.storage_upload_id') = ?",
                (storage_upload_id,),
            )
            .fetchone()
        )
        return _from_json(*row) if row else None

    def with_status(self, status: str) -> list[UploadRecord]:
        rows = self.db.connect().execute("SELECT record, status FROM uploads WHERE status = ?", (status,)).fetchall()
        return [_from_json(*row) for row in rows]

    def transition(self, upload_id: str, expected: str, new: str, result: dict | None = None) -> bool:
        conn = self.db.connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(
                "SELECT record FROM uploads WHERE upload_id = ? AND status = ?", (upload_id, expected)
            ).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
                return False
            record = _from_json(row[0], new)
            if result is not None:
                record.result = result
            conn.execute(
                "UPDATE uploads SET record = ?, status = ? WHERE upload_id = ? AND status = ?",
                (_to_json(record), new, upload_id, expected),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if self.on_final is not None and new != "open":
            self.on_final(record)
        return True


class SqliteModelCatalog:
    def __init__(self, db: SqliteDb) -> None:
        self.db = db

    def get(self, key: str) -> dict | None:
        row = self.db.connect().execute("SELECT facts FROM models WHERE model_key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, facts: dict) -> None:
        self.db.connect().execute(
            "INSERT INTO models (model_key, facts) VALUES (?, ?) "
            "ON CONFLICT(model_key) DO UPDATE SET facts = excluded.facts",
            (key, json.dumps(facts)),
        )

    def delete(self, key: str) -> None:
        self.db.connect().execute("DELETE FROM models WHERE model_key = ?", (key,))
