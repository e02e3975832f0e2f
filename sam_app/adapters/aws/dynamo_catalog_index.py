"""CatalogIndex over the DynamoDB models table (items {model_key, facts} as DynamoModelCatalog
writes them): BatchGetItem for a search page, Queries on the table's sha256 index for
hash lookups and duplicates (never a Scan: its cost grows with the whole table).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from boto3.dynamodb.conditions import Key

from .dynamo_tables import HASH_ATTRIBUTE, HASH_INDEX, HASH_SHARD_ATTRIBUTE

HEX = "0123456789abcdef"
BATCH_GET_LIMIT = 100  # DynamoDB's limit per BatchGetItem
MAX_RETRIES = 8


class DynamoCatalogIndex:
    def __init__(self, resource, table_name: str) -> None:
        self.resource = resource  # boto3.resource("dynamodb")
        self.table_name = table_name

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        unique = list(dict.fromkeys(keys))
        for i in range(0, len(unique), BATCH_GET_LIMIT):
            request = {self.table_name: {"Keys": [{"model_key": k} for k in unique[i : i + BATCH_GET_LIMIT]]}}
            for attempt in range(MAX_RETRIES):
                answer = self.resource.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    found[item["model_key"]] = json.loads(item["facts"])
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))  # throttled: back off, as the SDK docs advise
        return found

    def hashed(self, prefix: str = "") -> Iterator[tuple[str, dict]]:
        table = self.resource.Table(self.table_name)
        prefix = prefix.lower()
        for shard in [prefix[0]] if prefix else HEX:
            condition = Key(HASH_SHARD_ATTRIBUTE).eq(shard)
            if len(prefix) > 1:
                condition = condition & Key(HASH_ATTRIBUTE).begins_with(prefix)
            kwargs: dict = {"IndexName": HASH_INDEX, "KeyConditionExpression": condition}
            while True:
                page = table.query(**kwargs)
                for item in page.get("Items", []):
                    yield item["model_key"], json.loads(item["facts"])
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
