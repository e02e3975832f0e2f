"""Status only moves forward, in SQLite and in DynamoDB, under concurrent, duplicated and late writes."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from sam_app.adapters.local.jobs_db import SqliteIdempotencyLayer, SqliteJobRecords
from sam_app.adapters.local.sqlite_db import SqliteDb
from sam_app.core.jobs_ports import JobRecord
from sam_app.core.jobs_service import advance_job, new_job_id
from sdaws.contract import job_status as st
from sdaws.contract.errors import Conflict
from tests.support.moto_env import use_fake_aws
from tests.support.template_tables import create_tables

FINALS = (st.SUCCEEDED, st.FAILED, st.CANCELLED)


def test_forward_only_rules():
    assert st.predecessors(st.QUEUED) == ()
    assert st.predecessors(st.RUNNING) == (st.QUEUED, st.STARTING)
    assert st.predecessors(st.SUCCEEDED) == (st.QUEUED, st.STARTING, st.RUNNING)
    for final in FINALS:
        assert not any(st.can_move(final, other) for other in st.STATUSES)
    assert not st.can_move(st.RUNNING, st.STARTING) and not st.can_move(st.RUNNING, st.RUNNING)
    with pytest.raises(ValueError, match="unknown job status"):
        st.predecessors("DONE")


@pytest.fixture
def sqlite_records(tmp_path):
    return SqliteJobRecords(SqliteDb(tmp_path / "jobs.sqlite3"))


def _atomic_moto_writes(monkeypatch) -> None:
    """DynamoDB applies a conditional write atomically per item; moto checks then writes
    without a lock, so concurrent threads could both pass one condition. Serialising
    moto's writes restores the service's guarantee, which is what these tests rely on."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self, *args, _original=original, **kwargs):
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


@pytest.fixture
def dynamo_env(monkeypatch):
    _atomic_moto_writes(monkeypatch)
    use_fake_aws(monkeypatch)
    with mock_aws():
        yield create_tables(boto3.client("dynamodb"))


@pytest.fixture
def dynamo_records(dynamo_env):
    from sam_app.adapters.aws.dynamo_jobs import DynamoJobRecords

    return DynamoJobRecords(boto3.resource("dynamodb").Table(dynamo_env["JobsTable"]))


def _new(records, status=st.QUEUED) -> str:
    job_id = new_job_id()
    now = "2026-01-01T00:00:00+00:00"
    records.put_new(JobRecord(job_id, "merge", "j", status, {"a": 1.5}, {"a": 1.5}, [], now, now))
    return job_id


def storm(records, jobs: int = 10) -> None:
    """Each job gets STARTING, RUNNING, its final status (each twice), a late STARTING and progress, all shuffled."""
    planned = {_new(records): FINALS[i % 3] for i in range(jobs)}
    events = []
    for job_id, final in planned.items():
        events += [(job_id, s) for s in (st.STARTING, st.RUNNING, st.RUNNING, final, final, st.STARTING)]
        events += [(job_id, "progress"), (job_id, "progress")]
    random.Random(7).shuffle(events)
    assert len(events) >= 50

    def apply(event):
        job_id, what = event
        if what == "progress":
            return event, records.update_progress(job_id, {"step": 1, "total": 2, "eta_s": None, "message": "m"}, "t")
        return event, advance_job(
            records, "2026-01-01T00:01:00+00:00", job_id, what, error=f"by {what}" if what in FINALS else None
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(apply, events))

    for job_id, final in planned.items():
        record = records.get(job_id)
        assert record.status == final
        assert record.finished_at == "2026-01-01T00:01:00+00:00" and record.error == f"by {final}"
        assert record.params == {"a": 1.5}
        landed = [what for (jid, what), ok in results if jid == job_id and ok and what != "progress"]
        # Each status landed at most once, and exactly one final write won.
        assert len(landed) == len(set(landed)) and landed.count(final) == 1
        # Nothing moves a final job, whoever asks.
        assert not any(advance_job(records, "t", job_id, s) for s in st.STATUSES[1:])
        assert not records.update_progress(job_id, {"step": 9}, "t")


def test_storm_sqlite(sqlite_records):
    storm(sqlite_records)


def test_storm_dynamodb(dynamo_records):
    storm(dynamo_records)


@pytest.mark.parametrize("which", ["sqlite", "dynamo"])
def test_records_list_newest_first_with_filters(which, request):
    records = request.getfixturevalue(f"{which}_records")
    ids = [_new(records) for _ in range(5)]
    advance_job(records, "t", ids[1], st.FAILED)
    page, cursor = records.list(None, None, 3, None)
    rest, end = records.list(None, None, 3, cursor)
    assert [r.job_id for r in page + rest] == ids[::-1] and end is None
    assert [r.job_id for r in records.list(st.FAILED, "merge", 10, None)[0]] == [ids[1]]
    assert records.list(None, "train", 10, None) == ([], None)
    assert records.get("0" * 32) is None and not advance_job(records, "t", "0" * 32, st.RUNNING)


def _idempotency(which, request):
    if which == "sqlite":
        from sam_app.adapters.idempotency import PowertoolsIdempotency

        return PowertoolsIdempotency(
            SqliteIdempotencyLayer(SqliteDb(request.getfixturevalue("tmp_path") / "i.sqlite3"))
        )
    from sam_app.adapters.aws.dynamo_jobs import dynamo_idempotency

    return dynamo_idempotency(request.getfixturevalue("dynamo_env")["IdempotencyTable"])


@pytest.mark.parametrize("which", ["sqlite", "dynamo"])
def test_idempotency_store(which, request):
    store = _idempotency(which, request)
    calls = []

    def create():
        calls.append(1)
        return {"job_id": f"job-{len(calls)}"}

    assert store.run_once("k1", {"kind": "merge", "n": 1}, create) == ({"job_id": "job-1"}, True)
    assert store.run_once("k1", {"kind": "merge", "n": 1}, create) == ({"job_id": "job-1"}, False)
    with pytest.raises(Conflict, match="different request"):
        store.run_once("k1", {"kind": "merge", "n": 2}, create)
    assert store.run_once("k2", {"kind": "merge", "n": 2}, create) == ({"job_id": "job-2"}, True)

    def broken():
        raise RuntimeError("launch failed")

    with pytest.raises(RuntimeError):
        store.run_once("k3", {"n": 3}, broken)
    # A failed first try frees the key for the retry.
    assert store.run_once("k3", {"n": 3}, create) == ({"job_id": "job-3"}, True)
    assert len(calls) == 3
