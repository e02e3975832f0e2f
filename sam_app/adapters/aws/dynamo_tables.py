"""Upload records and the model catalog in DynamoDB (keys as declared in template.yaml)."""

from __future__ import annotations

import json
from datetime import datetime

from botocore.exceptions import ClientError

from sam_app.core.ports import UploadRecord


def _record_json(record: UploadRecord) -> str:
    data = {k: v for k, v in record.__dict__.items() if k not in ("status", "result")}
    data["created_at"] = record.created_at.isoformat()
    data["expires_at"] = record.expires_at.isoformat()
    return json.dumps(data)


class DynamoUploadRecords:
    def __init__(self, table) -> None:
        self.table = table

    def put(self, record: UploadRecord) -> None:
        self.table.put_item(
            Item={
                "upload_id": record.upload_id,
                "record": _record_json(record),
                "status": record.status,
                "result": json.dumps(record.result),
                "expires_at": int(record.expires_at.timestamp()),  # TTL attribute
            },
            ConditionExpression="attribute_not_exists(upload_id)",
        )

    def get(self, upload_id: str) -> UploadRecord | None:
        item = self.table.get_item(Key={"upload_id": upload_id}, ConsistentRead=True).get("Item")
        if not item:
            return None
        data = json.loads(item["record"])
        data["created_at"] = datetime.fromisoformat(data["created_at"])
        data["expires_at"] = datetime.fromisoformat(data["expires_at"])
        return UploadRecord(**data, status=item["status"], result=json.loads(item.get("result") or "{}"))

    def transition(self, upload_id: str, expected: str, new: str, result: dict | None = None) -> bool:
        try:
            self.table.update_item(
                Key={"upload_id": upload_id},
                UpdateExpression="SET #s = :new, #r = :result",
                ConditionExpression="#s = :expected",
                ExpressionAttributeNames={"#s": "status", "#r": "result"},
                ExpressionAttributeValues={":new": new, ":expected": expected, ":result": json.dumps(result or {})},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


# The ModelsTable's "by-sha256" index (template.yaml): partition = first hex digit of the
# sha256 (16 partitions, so duplicates is 16 Queries and a lookup one), sort = the sha256.
HASH_INDEX = "by-sha256"
HASH_SHARD_ATTRIBUTE = "sha_shard"
HASH_ATTRIBUTE = "sha256"


class DynamoModelCatalog:
    def __init__(self, table) -> None:
        self.table = table

    def get(self, key: str) -> dict | None:
        item = self.table.get_item(Key={"model_key": key}).get("Item")
        return json.loads(item["facts"]) if item else None

    def put(self, key: str, facts: dict) -> None:
        item = {"model_key": key, "facts": json.dumps(facts)}
        sha = str(facts.get("sha256") or "").lower()
        if sha:  # the models table's hash index (sparse: only hashed models are in it)
            item |= {HASH_SHARD_ATTRIBUTE: sha[:1], HASH_ATTRIBUTE: sha}
        self.table.put_item(Item=item)

    def delete(self, key: str) -> None:
        self.table.delete_item(Key={"model_key": key})
