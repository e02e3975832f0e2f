"""Build the AWS services from the function's environment (names set by template.yaml)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import boto3
from botocore.config import Config

from sam_app.adapters.clock import UtcClock
from sam_app.core.catalog_service import CatalogService
from sam_app.core.models_service import ModelService
from sam_app.core.services import Services
from sam_app.core.uploads_service import UploadService

from .api_key_verifier import ApiKeyVerifier
from .dynamo_catalog_index import DynamoCatalogIndex
from .dynamo_tables import DynamoModelCatalog, DynamoUploadRecords
from .jobs_wiring import build_aws_jobs
from .s3_hasher import S3HashState
from .s3_multipart import S3Multipart
from .s3_sidecars import S3SidecarFiles
from .s3_store import S3TreeStore
from .sagemaker_endpoints import endpoints_from_environment

DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024**3


def _part_size(env: Mapping[str, str]) -> dict:
    # S3 refuses parts under 5 MiB (except the last); tests use small parts, users the default.
    value = env.get("UPLOAD_PART_BYTES")
    return {"part_size": max(int(value), 5 * 1024**2)} if value else {}


def s3_config(env: Mapping[str, str]) -> Config:
    """Virtual-hosted URLs in AWS (path-style is deprecated and unavailable for new buckets in
    some regions); path-style only towards an emulator, whose host cannot take bucket names."""
    emulator = env.get("AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_S3") or env.get("SDAWS_ENDPOINT_URL")
    return Config(signature_version="s3v4", s3={"addressing_style": "path" if emulator else "virtual"})


def build_aws_services(env: Mapping[str, str] = os.environ) -> Services:
    # boto3 honours AWS_ENDPOINT_URL itself, which is how sam local reaches moto.
    s3 = boto3.client("s3", config=s3_config(os.environ))
    dynamodb = boto3.resource("dynamodb")
    bucket = env["MODELS_BUCKET"]
    tree = S3TreeStore(s3, bucket)
    catalog = DynamoModelCatalog(dynamodb.Table(env["MODELS_TABLE"]))
    uploads = UploadService(
        tree,
        S3Multipart(s3, bucket),
        DynamoUploadRecords(dynamodb.Table(env["UPLOADS_TABLE"])),
        catalog,
        UtcClock(),
        int(env.get("MAX_UPLOAD_BYTES") or DEFAULT_MAX_UPLOAD_BYTES),
        **_part_size(env),
    )
    jobs = build_aws_jobs(env, s3, dynamodb, tree)
    return Services(
        mode="aws",
        models=ModelService(tree, catalog),
        uploads=uploads,
        tokens=ApiKeyVerifier(boto3.client("apigateway"), env["API_KEY_ID"]),
        jobs=jobs,
        endpoints=endpoints_from_environment(env),
        # Hashes come from the bucket's events (the hash function); the API only reads them.
        catalog=CatalogService(
            tree,
            catalog,
            DynamoCatalogIndex(dynamodb, env["MODELS_TABLE"]),
            S3SidecarFiles(s3, bucket),
            S3HashState(catalog),
            jobs.records if jobs else None,
        ),
    )
