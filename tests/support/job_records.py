"""JobRecords on the JobsTable in moto: the adapter the deployed handlers use."""

from __future__ import annotations

from sam_app.adapters.aws.dynamo_jobs import DynamoJobRecords


def job_records(table) -> DynamoJobRecords:
    return DynamoJobRecords(table)
