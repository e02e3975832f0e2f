"""Assemble the local job service: SQLite records and idempotency, the subprocess runner, signed file URLs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sam_app.adapters.idempotency import PowertoolsIdempotency
from sam_app.core.jobs_service import JobsService
from sam_app.core.ports import Clock, ObjectStore

from .job_files import KeyPaths, KeySigner, LocalJobFiles, LocalJobLogs
from .job_runner import Command, LocalJobRunner, job_command
from .job_secrets import LocalJobSecrets
from .jobs_db import SqliteIdempotencyLayer, SqliteJobRecords
from .signing import PartSigner
from .sqlite_db import SqliteDb


@dataclass
class LocalJobs:
    service: JobsService
    runner: LocalJobRunner
    files: LocalJobFiles

    def start(self) -> None:
        self.runner.recover()

    def stop(self) -> None:
        self.runner.stop()


def build_local_jobs(
    models_dir: Path,
    data_dir: Path,
    db: SqliteDb,
    tree: ObjectStore,
    signer: PartSigner,
    base_url: Callable[[], str],
    clock: Clock,
    max_local_jobs: int = 1,
    job_command: Command = job_command,
) -> LocalJobs:
    paths = KeyPaths(models_dir, data_dir)
    records = SqliteJobRecords(db)
    files = LocalJobFiles(paths, KeySigner(signer), base_url)
    runner = LocalJobRunner(records, paths, clock, max_concurrent=max_local_jobs, command=job_command)
    service = JobsService(
        records=records,
        launcher=runner,
        logs=LocalJobLogs(runner.jobs_dir),
        outputs=files,
        inputs=files,
        idempotency=PowertoolsIdempotency(SqliteIdempotencyLayer(db)),
        store=tree,
        clock=clock,
        secrets=LocalJobSecrets(runner.jobs_dir),
    )
    return LocalJobs(service, runner, files)
