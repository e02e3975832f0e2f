"""Presigned URLs are virtual-hosted in AWS and path-style only towards an emulator."""

from __future__ import annotations

from urllib.parse import urlsplit

import boto3

from sam_app.adapters.aws.s3_multipart import S3Multipart
from sam_app.adapters.aws.wiring import s3_config
from tests.support import deployed

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-west-2"}


def _part_url(config, endpoint_url=None) -> str:
    deployed.register_bucket("ModelBucket", "my-models")
    s3 = boto3.client("s3", config=config, endpoint_url=endpoint_url, **CREDENTIALS)
    return S3Multipart(s3, "my-models").part_url("Lora/a b.safetensors", "up-1", 1, 3600)


def test_in_aws_part_urls_name_the_bucket_in_the_host(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "SDAWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    url = urlsplit(_part_url(s3_config({})))
    assert url.hostname == "my-models.s3.us-west-2.amazonaws.com" and url.path.startswith("/Lora/")


def test_towards_an_emulator_part_urls_are_path_style():
    url = urlsplit(_part_url(s3_config({"AWS_ENDPOINT_URL": "http://moto:5000"}), "http://moto:5000"))
    assert url.hostname == "moto" and url.path.startswith("/my-models/Lora/")
