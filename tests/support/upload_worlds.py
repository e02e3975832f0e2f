"""Two worlds for upload tests: the local server, and the Lambda handler over moto served
as real HTTP (so presigned part URLs are really PUT to). `api` runs a test in both. And an
upload the user stopped part-way, for the tests of resuming it."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
import requests

from tests.support.api_world import AUTH, TOKEN, FakeLambdaContext, proxy_event
from tests.support.moto_env import moto_over_http, use_fake_aws
from tests.support.template_tables import create_api_world

MiB = 1024 * 1024


def upload_stopped_after(client, src, model_type: str, parts: int) -> None:
    """Upload `src` as the uploader does and stop it once `parts` parts are stored (one worker,
    so no more than that are in flight): it stays pending in UploadState, to resume."""
    from sdaws.client.uploader import UploadCancelled, upload_file

    cancel = threading.Event()
    with pytest.raises(UploadCancelled):
        upload_file(
            client,
            src,
            model_type,
            workers=1,
            cancel=cancel,
            on_progress=lambda p: cancel.set() if p.parts_done >= parts else None,
        )


class LocalApi:
    def __init__(self, server, data_dir):
        self.server = server
        self.data_dir = data_dir

    def call(self, method, path, body=None):
        resp = requests.request(method, f"{self.server.url}{path}", headers=AUTH, json=body)
        return resp.status_code, resp.json()

    def stored_bytes(self, key):
        return (self.server.models_dir / key).read_bytes()

    def leftover_parts(self):
        root = self.data_dir / "uploads"
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


class LambdaApi:
    def __init__(self, handler, s3, bucket):
        self.handler = handler
        self.s3 = s3
        self.bucket = bucket

    def call(self, method, path, body=None):
        headers = dict(AUTH) | {"content-type": "application/json"}
        event = proxy_event(method, path, headers, body=json.dumps(body) if body is not None else None)
        result = self.handler(event, FakeLambdaContext())
        return result["statusCode"], json.loads(result["body"])

    def stored_bytes(self, key):
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def leftover_parts(self):
        return self.s3.list_multipart_uploads(Bucket=self.bucket).get("Uploads", [])


@pytest.fixture
def local_api(tmp_path):
    from sam_app.local_server.server import serve_in_thread

    handle = serve_in_thread(tmp_path / "models", tmp_path / "data", TOKEN, part_size=MiB)
    handle.models_dir = tmp_path / "models"
    yield LocalApi(handle, tmp_path / "data"), MiB
    handle.stop()


@pytest.fixture
def moto_http_world(monkeypatch):
    """moto as a real HTTP server (presigned part URLs really work), the tables from
    template.yaml, and the real Lambda handler wired to them; yields (handler, s3)."""
    with moto_over_http() as (endpoint, s3):
        use_fake_aws(monkeypatch, endpoint=endpoint)
        world = create_api_world(s3, boto3.client("dynamodb"), boto3.client("apigateway"), TOKEN)
        for name, value in world.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("UPLOAD_PART_BYTES", str(5 * MiB))
        import sam_app.handlers.api as api

        api._dispatcher = None
        yield api.handler, s3
        api._dispatcher = None


@pytest.fixture
def lambda_api(moto_http_world):
    handler, s3 = moto_http_world
    return LambdaApi(handler, s3, "sdaws-models"), 5 * MiB


@pytest.fixture(params=["local", "aws"])
def upload_api(request):
    return request.getfixturevalue("local_api" if request.param == "local" else "lambda_api")
