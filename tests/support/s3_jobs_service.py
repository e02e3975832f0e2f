"""The job service on its AWS adapters (S3 tree and inputs, DynamoDB records and
idempotency) inside moto, with a launcher that only records: for tests of what the
service decides before anything reaches SageMaker."""

from __future__ import annotations

import boto3

from sam_app.adapters.aws.dynamo_jobs import DynamoJobRecords, dynamo_idempotency
from sam_app.adapters.aws.s3_job_inputs import S3JobInputs
from sam_app.adapters.aws.s3_store import S3TreeStore
from sam_app.adapters.clock import UtcClock
from sam_app.core.jobs_service import JobsService


class RecordingLauncher:
    """A JobLauncher port stand-in: remembers what it was asked to start or stop."""

    def __init__(self):
        self.launched, self.cancelled = [], []

    def launch(self, job):
        self.launched.append(job)

    def cancel(self, job):
        self.cancelled.append(job.job_id)


def s3_jobs_service(s3, bucket: str, tables: dict[str, str], launcher: RecordingLauncher) -> JobsService:
    return JobsService(
        records=DynamoJobRecords(boto3.resource("dynamodb").Table(tables["JobsTable"])),
        launcher=launcher,
        logs=None,
        outputs=None,
        inputs=S3JobInputs(s3, bucket),
        idempotency=dynamo_idempotency(tables["IdempotencyTable"]),
        store=S3TreeStore(s3, bucket),
        clock=UtcClock(),
    )
