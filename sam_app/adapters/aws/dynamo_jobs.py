"""Job records in DynamoDB (JobsTable, key job_id) and submit idempotency on IdempotencyTable.

Each field is its own attribute, and every write sets only what it changes under
a ConditionExpression on the statuses it may replace — the same rule as the local
SQLite store — so concurrent or repeated events never lose or reverse a transition.
Structured fields are JSON strings (no Decimal round trips for floats).

Listing reads the table's `newest-first` index (template.yaml): every job carries the
constant `listing` attribute as its partition key and its id (which sorts by creation
time) as the sort key, so one Query with ScanIndexForward=False pages newest-first
without ever scanning the table. One partition holds one user's job history, far
below DynamoDB's per-partition limits; the index is eventually consistent, so a job
submitted a moment ago may show in the next listing rather than this one.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from sam_app.adapters.idempotency import PowertoolsIdempotency
from sam_app.core.jobs_ports import MUTABLE_FIELDS, JobRecord
from sdaws.contract import job_status as st

_JSON_FIELDS = frozenset({"params", "spec", "inputs", "progress", "outputs", "launch"})
LISTING_INDEX = "newest-first"
LISTING_ATTRIBUTE = "listing"
LISTING_VALUE = "jobs"
# Inference jobs whose endpoint is still starting carry the endpoint's name here; the
# sparse index finds them when the endpoint's InService event arrives.
WAITING_INDEX = "waiting-for-endpoint"
WAITING_ATTRIBUTE = "waiting_endpoint"
_STORE_ONLY = frozenset({LISTING_ATTRIBUTE, WAITING_ATTRIBUTE})
# Items a filtered listing reads per Query page (a filter applies after the page is read).
FILTERED_PAGE = 200


def _encode(name: str, value):
    return json.dumps(value) if name in _JSON_FIELDS else value


def _item(record: JobRecord) -> dict:
    return {k: _encode(k, v) for k, v in record.to_dict().items()} | {LISTING_ATTRIBUTE: LISTING_VALUE}


def _record(item: dict) -> JobRecord:
    data = {
        k: (json.loads(v) if k in _JSON_FIELDS and isinstance(v, str) else v)
        for k, v in item.items()
        if k not in _STORE_ONLY
    }
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
        key = Key(LISTING_ATTRIBUTE).eq(LISTING_VALUE)
        if cursor is not None:
            key = key & Key("job_id").lt(cursor)
        condition = None
        for name, value in (("status", status), ("kind", kind)):
            if value is not None:
                term = Attr(name).eq(value)
                condition = term if condition is None else condition & term
        kwargs: dict = {
            "IndexName": LISTING_INDEX,
            "KeyConditionExpression": key,
            "ScanIndexForward": False,
            # One more than the page: whether it exists decides the next cursor.
            "Limit": limit + 1 if condition is None else max(limit + 1, FILTERED_PAGE),
        }
        if condition is not None:
            kwargs["FilterExpression"] = condition
        items: list[dict] = []
        while len(items) <= limit:
            page = self.table.query(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
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

    def update_launch(self, job_id: str, launch: dict, progress: dict | None, updated_at: str) -> bool:
        """A new launch handle (and message) for an active job, its status unchanged."""
        return self._conditional_set(
            job_id, st.ACTIVE, {"launch": launch, "progress": progress, "updated_at": updated_at}
        )

    # -- inference jobs waiting for their endpoint ------------------------------
    def mark_waiting(self, job_id: str, endpoint: str) -> None:
        self.table.update_item(
            Key={"job_id": job_id},
            UpdateExpression="SET #w = :e",
            ConditionExpression="attribute_exists(job_id)",
            ExpressionAttributeNames={"#w": WAITING_ATTRIBUTE},
            ExpressionAttributeValues={":e": endpoint},
        )

    def waiting_for(self, endpoint: str) -> list[str]:
        """Ids of the jobs waiting for `endpoint`, oldest first (a Query of the sparse index)."""
        kwargs: dict = {"IndexName": WAITING_INDEX, "KeyConditionExpression": Key(WAITING_ATTRIBUTE).eq(endpoint)}
        ids: list[str] = []
        while True:
            page = self.table.query(**kwargs)
            ids.extend(item["job_id"] for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_waiting(self, job_id: str, endpoint: str) -> bool:
        """Take the job off the waiting list; of racing claimers exactly one gets True."""
        try:
            self.table.update_item(
                Key={"job_id": job_id},
                UpdateExpression="REMOVE #w",
                ConditionExpression="#w = :e",
                ExpressionAttributeNames={"#w": WAITING_ATTRIBUTE},
                ExpressionAttributeValues={":e": endpoint},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def dynamo_idempotency(table_name: str, client=None) -> PowertoolsIdempotency:
    """Submit idempotency on IdempotencyTable (key `id`, TTL `expiration`, as template.yaml declares)."""
    layer = DynamoDBPersistenceLayer(
        table_name=table_name, key_attr="id", expiry_attr="expiration", boto3_client=client
    )
    return PowertoolsIdempotency(layer)
