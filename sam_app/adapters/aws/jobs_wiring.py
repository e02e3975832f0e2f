"""Build the AWS job service: DynamoDB records and idempotency, SageMaker compute, S3 and CloudWatch.

Jobs need the compute stack's settings (image, role, state machine, endpoint); the
launcher module reads them from the environment. Without them the API still runs
and the job routes answer 503 with a message saying jobs are not configured.
"""

from __future__ import annotations

from collections.abc import Mapping

import boto3

from sam_app.adapters.clock import UtcClock
from sam_app.core.jobs_ports import JobRecords
from sam_app.core.jobs_service import JobsService
from sam_app.core.ports import ObjectStore

from . import sagemaker_launcher
from .dynamo_jobs import DynamoJobRecords, dynamo_idempotency
from .s3_job_inputs import S3JobInputs


def build_aws_jobs(env: Mapping[str, str], s3, dynamodb, tree: ObjectStore) -> JobsService | None:
    if not env.get("JOBS_TABLE") or not env.get("IDEMPOTENCY_TABLE"):
        return None
    records: JobRecords = DynamoJobRecords(dynamodb.Table(env["JOBS_TABLE"]))
    # The compute side owns its settings: `launcher_from_environment(env, records)` returns
    # None while the stack has no job image configured.
    make_launcher = getattr(sagemaker_launcher, "launcher_from_environment", None)
    launcher = make_launcher(env, records) if make_launcher else None
    if launcher is None:
        return None
    from .cloudwatch_logs import CloudWatchJobLogs
    from .s3_job_secrets import S3JobSecrets
    from .s3_outputs import S3JobOutputs

    bucket = env["MODELS_BUCKET"]
    return JobsService(
        records=records,
        launcher=launcher,
        logs=CloudWatchJobLogs(boto3.client("logs"), env.get("ENDPOINT_NAME")),
        outputs=S3JobOutputs(s3, bucket),
        inputs=S3JobInputs(s3, bucket),
        idempotency=dynamo_idempotency(env["IDEMPOTENCY_TABLE"]),
        store=tree,
        clock=UtcClock(),
        secrets=S3JobSecrets(s3, bucket),
    )
