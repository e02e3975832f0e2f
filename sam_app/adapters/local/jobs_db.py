"""Job records and idempotency records in the local server's SQLite (WAL) database.

Every status write runs in one IMMEDIATE transaction and is conditional on the
statuses it may replace (`... WHERE status IN (...)`), so concurrent runner
threads, cancels and restarts can never reverse or lose a transition.
"""

from __future__ import annotations

import json
import sqlite3
import time

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer, DataRecord

from sam_app.adapters.local.sqlite_db import SqliteDb
from sam_app.core.jobs_ports import MUTABLE_FIELDS, JobRecord
from sdaws.contract import job_status as st

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    kind TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, job_id);
CREATE TABLE IF NOT EXISTS idempotency (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expiration INTEGER,
    in_progress_expiration INTEGER,
    data TEXT,
    validation TEXT
);
"""


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


class SqliteJobRecords:
    def __init__(self, db: SqliteDb) -> None:
        self.db = db
        self.db.connect().executescript(SCHEMA)

    def put_new(self, record: JobRecord) -> None:
        self.db.connect().execute(
            "INSERT INTO jobs (job_id, status, kind, record) VALUES (?, ?, ?, ?)",
            (record.job_id, record.status, record.kind, json.dumps(record.to_dict())),
        )

    @staticmethod
    def _load(text: str, status: str) -> JobRecord:
        record = JobRecord.from_dict(json.loads(text))
        record.status = status
        return record

    def get(self, job_id: str) -> JobRecord | None:
        row = self.db.connect().execute("SELECT record, status FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return self._load(*row) if row else None

    def list(self, status, kind, limit, cursor):
        where, args = [], []
        for column, value in (("status", status), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if cursor is not None:
            where.append("job_id < ?")
            args.append(cursor)
        sql = "SELECT record, status FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.connect().execute(sql + " ORDER BY job_id DESC LIMIT ?", (*args, limit + 1)).fetchall()
        jobs = [self._load(*row) for row in rows[:limit]]
        return jobs, (jobs[-1].job_id if len(rows) > limit else None)

    def _update(self, job_id: str, expected: tuple[str, ...], new_status: str, fields: dict) -> bool:
        unknown = set(fields) - MUTABLE_FIELDS
        if unknown:
            raise ValueError(f"job fields {sorted(unknown)} cannot be updated")
        if not expected:
            return False
        marks = ",".join("?" * len(expected))
        with _Transaction(self.db.connect()) as conn:
            row = conn.execute(
                f"SELECT record FROM jobs WHERE job_id = ? AND status IN ({marks})", (job_id, *expected)
            ).fetchone()
            if row is None:
                return False
            data = json.loads(row[0]) | fields | {"status": new_status}
            conn.execute(
                f"UPDATE jobs SET record = ?, status = ? WHERE job_id = ? AND status IN ({marks})",
                (json.dumps(data), new_status, job_id, *expected),
            )
        return True

    def transition(self, job_id: str, expected_statuses: tuple[str, ...], new_status: str, **fields) -> bool:
        expected = tuple(s for s in expected_statuses if st.can_move(s, new_status))
        return self._update(job_id, expected, new_status, fields)

    def update_progress(self, job_id: str, progress: dict, updated_at: str) -> bool:
        # Status stays what it is: one conditional write per active status.
        return any(
            self._update(job_id, (status,), status, {"progress": progress, "updated_at": updated_at})
            for status in st.ACTIVE
        )


class SqliteIdempotencyLayer(BasePersistenceLayer):
    """Powertools idempotency records in SQLite: the same protocol the DynamoDB layer follows."""

    def __init__(self, db: SqliteDb) -> None:
        super().__init__()
        self.db = db
        self.db.connect().executescript(SCHEMA)

    @staticmethod
    def _record(row) -> DataRecord:
        key, status, expiration, in_progress, data, validation = row
        return DataRecord(
            idempotency_key=key,
            status=status,
            expiry_timestamp=expiration,
            in_progress_expiry_timestamp=in_progress,
            response_data=data or "",
            payload_hash=validation or "",
        )

    def _select(self, conn: sqlite3.Connection, key: str):
        return conn.execute(
            "SELECT id, status, expiration, in_progress_expiration, data, validation FROM idempotency WHERE id = ?",
            (key,),
        ).fetchone()

    def _get_record(self, idempotency_key) -> DataRecord:
        row = self._select(self.db.connect(), idempotency_key)
        if row is None:
            raise IdempotencyItemNotFoundError
        return self._record(row)

    def _put_record(self, data_record: DataRecord) -> None:
        now = time.time()
        with _Transaction(self.db.connect()) as conn:
            row = self._select(conn, data_record.idempotency_key)
            if row is not None:
                old = self._record(row)
                # Same rule as the DynamoDB layer's condition: free when expired, or
                # in progress past its in-progress deadline.
                expired = old.expiry_timestamp is not None and old.expiry_timestamp < now
                stale = (
                    row[1] == "INPROGRESS"
                    and old.in_progress_expiry_timestamp is not None
                    and old.in_progress_expiry_timestamp < now * 1000
                )
                if not (expired or stale):
                    # As the DynamoDB layer does: a different payload under the same key is refused here.
                    self._validate_payload(data_payload=data_record, stored_data_record=old)
                    raise IdempotencyItemAlreadyExistsError(old_data_record=old)
            conn.execute(
                "INSERT OR REPLACE INTO idempotency (id, status, expiration, in_progress_expiration, data, validation) "
                "VALUES (?, ?, ?, ?, NULL, ?)",
                (
                    data_record.idempotency_key,
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.in_progress_expiry_timestamp,
                    data_record.payload_hash if self.payload_validation_enabled else None,
                ),
            )

    def _update_record(self, data_record: DataRecord) -> None:
        self.db.connect().execute(
            "UPDATE idempotency SET data = ?, expiration = ?, status = ? WHERE id = ?",
            (data_record.response_data, data_record.expiry_timestamp, data_record.status, data_record.idempotency_key),
        )

    def _delete_record(self, data_record: DataRecord) -> None:
        self.db.connect().execute("DELETE FROM idempotency WHERE id = ?", (data_record.idempotency_key,))
