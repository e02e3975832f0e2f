"""A long upload outlives its part URLs (signed with the API function's temporary
credentials): the uploader gets fresh ones from GET /uploads/{id} and finishes, instead
of failing with S3's 403 "Request has expired"."""

from __future__ import annotations

import hashlib
import os

import boto3
import pytest

from sdaws.client.api import ApiClient
from sdaws.client.uploader import UploadState, upload_file
from tests.support.api_world import TOKEN
from tests.support.expiring_s3 import ExpiringS3
from tests.support.gateway import GatewayServer

MiB = 1024 * 1024


class CountingClient(ApiClient):
    status_calls = 0

    def get_upload(self, upload_id: str) -> dict:
        self.status_calls += 1
        return super().get_upload(upload_id)


@pytest.fixture
def expiring_world(moto_http_world, monkeypatch):
    _, s3 = moto_http_world
    front = ExpiringS3(os.environ["AWS_ENDPOINT_URL"])
    monkeypatch.setenv("AWS_ENDPOINT_URL", front.url)  # the API signs its part URLs for the front
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    import sam_app.handlers.api as api

    api._dispatcher = None
    gateway = GatewayServer(api.handler)
    client = CountingClient(gateway.url, TOKEN)
    yield client, front, s3
    client.close()
    gateway.stop()
    front.stop()
    api._dispatcher = None


def test_expired_part_urls_are_reissued_and_the_upload_finishes(expiring_world, tmp_path):
    client, front, s3 = expiring_world
    source = tmp_path / "long.safetensors"
    source.write_bytes(os.urandom(5 * MiB + 777))  # two parts

    result = upload_file(client, source, "Lora", state=UploadState(tmp_path / "uploads.json"))

    assert front.expired >= 1 and client.status_calls >= 1  # it asked for fresh URLs
    assert result["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    stored = s3.get_object(Bucket="sdaws-models", Key="Lora/long.safetensors")["Body"].read()
    assert stored == source.read_bytes()
