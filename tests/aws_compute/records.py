"""JobRecords on the JobsTable in moto.

Part B's DynamoJobRecords is the adapter the handlers use in AWS; until it is in the
tree these tests use this stand-in with the same contract (conditional, forward-only
writes on flat attributes), so the handlers are exercised against real conditional
writes in DynamoDB either way.
"""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from sam_app.core.jobs_ports import JobRecord

try:  # the real adapter, once it exists
    from sam_app.adapters.aws.dynamo_jobs import DynamoJobRecords as _Real
except ImportError:  # pragma: no cover - depends on the other part's progress
    _Real = None


class ConditionalDynamoRecords:
    def __init__(self, table) -> None:
        self._table = table

    def put_new(self, record: JobRecord) -> None:
        self._table.put_item(Item=record.to_dict(), ConditionExpression=Attr("job_id").not_exists())

    def get(self, job_id: str) -> JobRecord | None:
        item = self._table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        return JobRecord.from_dict(item) if item else None

    def transition(self, job_id: str, expected_statuses, new_status: str, **fields) -> bool:
        names = {"#status": "status", **{f"#f{i}": k for i, k in enumerate(fields)}}
        values = {":new": new_status, **{f":v{i}": v for i, v in enumerate(fields.values())}}
        values.update({f":e{i}": s for i, s in enumerate(expected_statuses)})
        sets = ", ".join(["#status = :new", *(f"#f{i} = :v{i}" for i in range(len(fields)))])
        condition = f"#status IN ({', '.join(f':e{i}' for i in range(len(expected_statuses)))})"
        try:
            self._table.update_item(
                Key={"job_id": job_id},
                UpdateExpression=f"SET {sets}",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def job_records(table):
    return _Real(table) if _Real is not None else ConditionalDynamoRecords(table)
