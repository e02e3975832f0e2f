"""DynamoDB tables for moto, built from the key schemas declared in template.yaml.

Tests read the schema out of the template so they cannot drift from what
`sam deploy` creates.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.support import deployed
from tests.support.env import REPO_ROOT


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML, keeping intrinsic tags (!Ref, !Sub …) as plain values."""


def _intrinsic(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {tag_suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {tag_suffix: loader.construct_sequence(node, deep=True)}
    return {tag_suffix: loader.construct_mapping(node, deep=True)}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = REPO_ROOT / "template.yaml") -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


def table_definitions(template: dict | None = None) -> dict[str, dict]:
    """Logical id -> create_table kwargs (key schema and attributes as declared)."""
    template = template or load_template()
    tables = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = resource["Properties"]
        kwargs = {
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = [
                {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")}
                for gsi in props["GlobalSecondaryIndexes"]
            ]
        tables[logical_id] = kwargs
    return tables


def create_tables(dynamodb_client, prefix: str = "sdaws-test-") -> dict[str, str]:
    """Create every template table; returns logical id -> table name."""
    names = {}
    for logical_id, kwargs in table_definitions().items():
        name = f"{prefix}{logical_id}"
        dynamodb_client.create_table(TableName=name, **kwargs)
        deployed.register_table(logical_id, name)
        names[logical_id] = name
    return names


def create_api_world(s3, dynamodb, apigateway, token: str, bucket: str = "sdaws-models") -> dict[str, str]:
    """Bucket, every template table and an API key with `token`; returns the function's env."""
    s3.create_bucket(Bucket=bucket)
    deployed.register_bucket("ModelBucket", bucket)
    tables = create_tables(dynamodb)
    key = apigateway.create_api_key(name="sdaws", value=token, enabled=True)
    deployed.register_api_key("ApiKey", key["id"])
    return {
        "MODELS_BUCKET": bucket,
        "MODELS_TABLE": tables["ModelsTable"],
        "JOBS_TABLE": tables["JobsTable"],
        "UPLOADS_TABLE": tables["UploadsTable"],
        "IDEMPOTENCY_TABLE": tables["IdempotencyTable"],
        "API_KEY_ID": key["id"],
    }
