"""Job records in DynamoDB (JobsTable, key job_id) and submit idempotency on IdempotencyTable.

Each field is its own attribute, and every write sets only what it changes under
a ConditionExpression on the statuses it may replace — the same rule as the local
SQLite store — so concurrent or repeated events never lose or reverse a transition.
Structured fields are JSON strings (no Decimal round trips for floats).
"""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from sam_app.adapters.idempotency import PowertoolsIdempotency
from sam_app.core.jobs_ports import MUTABLE_FIELDS, JobRecord
from sdaws.contract import job_status as st

_JSON_FIELDS = frozenset({"params", "spec", "inputs", "progress", "outputs", "launch"})


def _encode(name: str, value):
    return json.dumps(value) if name in _JSON_FIELDS else value


def _item(record: JobRecord) -> dict:
    return {k: _encode(k, v) for k, v in record.to_dict().items()}


def _record(item: dict) -> JobRecord:
    data = {k: (json.loads(v) if k in _JSON_FIELDS and isinstance(v, str) else v) for k, v in item.items()}
    return JobRecord.from_dict(data)


class DynamoJobRecords:
    def __init__(self, table) -> None:
        self.table = table

    def put_new(self, record: JobRecord) -> None:
        self.table.put_item(Item=_item(record), ConditionExpression="attribute_not_exists(job_id)")

    def get(self, job_id: str) -> JobRecord | None:
        item = self.table.get_item(Key={"job_id": job_id}, ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def list(self, status, kind, limit, cursor):
        # The table is keyed by job_id only; ids sort by creation time, so a scan
        # sorted by id is newest-first. Fine for one user's job history.
        condition = None
        for name, value in (("status", status), ("kind", kind)):
            if value is not None:
                term = Attr(name).eq(value)
                condition = term if condition is None else condition & term
        if cursor is not None:
            term = Attr("job_id").lt(cursor)
            condition = term if condition is None else condition & term
        kwargs = {"FilterExpression": condition} if condition is not None else {}
        items = []
        while True:
            page = self.table.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        items.sort(key=lambda i: i["job_id"], reverse=True)
        jobs = [_record(i) for i in items[:limit]]
        return jobs, (jobs[-1].job_id if len(items) > limit else None)

    def _conditional_set(self, job_id: str, expected: tuple[str, ...], fields: dict) -> bool:
        unknown = set(fields) - MUTABLE_FIELDS - {"status"}
        if unknown:
            raise ValueError(f"job fields {sorted(unknown)} cannot be updated")
        if not expected:
            return False
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": _encode(name, value) for i, (name, value) in enumerate(fields.items())}
        allowed = {f":e{i}": status for i, status in enumerate(expected)}
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
                ConditionExpression=f"attribute_exists(job_id) AND #status IN ({', '.join(allowed)})",
                ExpressionAttributeNames=names | {"#status": "status"},
                ExpressionAttributeValues=values | allowed,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def transition(self, job_id: str, expected_statuses: tuple[str, ...], new_status: str, **fields) -> bool:
        expected = tuple(s for s in expected_statuses if st.can_move(s, new_status))
        return self._conditional_set(job_id, expected, {"status": new_status, **fields})

    def update_progress(self, job_id: str, progress: dict, updated_at: str) -> bool:
        return self._conditional_set(job_id, st.ACTIVE, {"progress": progress, "updated_at": updated_at})


def dynamo_idempotency(table_name: str, client=None) -> PowertoolsIdempotency:
    """Submit idempotency on IdempotencyTable (key `id`, TTL `expiration`, as template.yaml declares)."""
    layer = DynamoDBPersistenceLayer(
        table_name=table_name, key_attr="id", expiry_attr="expiration", boto3_client=client
    )
    return PowertoolsIdempotency(layer)
