"""Interrupted uploads resume by sending only the missing parts, in both modes.

Local: the embedded server signs its own part URLs. AWS: the real Lambda handler
over moto running as a real HTTP server, so the part PUTs go to presigned S3 URLs.
The stored object must hash like the source, and finished or aborted uploads must
leave no parts behind.
"""

from __future__ import annotations

import hashlib
import json
import os

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.support.api_world import AUTH, TOKEN, FakeLambdaContext, proxy_event
from tests.support.template_tables import create_api_world

MiB = 1024 * 1024


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
def lambda_api(monkeypatch):
    api_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    api_server.start()
    host, port = api_server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    requests.post(f"{endpoint}/moto-api/reset")  # moto's state is per process, not per server
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "sdaws",
    }.items():
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3")
    world = create_api_world(s3, boto3.client("dynamodb"), boto3.client("apigateway"), TOKEN)
    for name, value in world.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("UPLOAD_PART_BYTES", str(5 * MiB))
    import sam_app.handlers.api as api

    api._dispatcher = None
    yield LambdaApi(api.handler, s3, "sdaws-models"), 5 * MiB
    api._dispatcher = None
    api_server.stop()


@pytest.fixture(params=["local", "aws"])
def api(request):
    return request.getfixturevalue("local_api" if request.param == "local" else "lambda_api")


def put_part(url: str, data: bytes) -> None:
    resp = requests.put(url, data=data)
    assert resp.status_code == 200, resp.text


def test_interrupted_upload_resumes_with_only_missing_parts(api):
    client, part_size = api
    source = os.urandom(3 * part_size + 12345)  # four parts, the last one short
    chunks = [source[i : i + part_size] for i in range(0, len(source), part_size)]
    status, created = client.call(
        "POST",
        "/uploads",
        {"type": "lora", "filename": "style", "size": len(source), "sha256": hashlib.sha256(source).hexdigest()},
    )
    assert status == 201, created
    assert created["name"] == "style.ckpt" and created["part_count"] == 4

    # The connection drops after parts 1 and 3.
    urls = {p["part_number"]: p["url"] for p in created["parts"]}
    for n in (1, 3):
        put_part(urls[n], chunks[n - 1])

    status, resume = client.call("GET", f"/uploads/{created['upload_id']}")
    assert status == 200
    assert [p["part_number"] for p in resume["parts_done"]] == [1, 3]
    missing = {p["part_number"]: p["url"] for p in resume["parts_missing"]}
    assert sorted(missing) == [2, 4]

    sent = []
    for n, url in missing.items():
        put_part(url, chunks[n - 1])
        sent.append(n)
    assert sorted(sent) == [2, 4]

    status, done = client.call("POST", f"/uploads/{created['upload_id']}/complete")
    assert status == 200, done
    stored = client.stored_bytes("Lora/style.ckpt")
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(source).hexdigest() == done["sha256"]
    assert client.leftover_parts() == []

    status, again = client.call("POST", f"/uploads/{created['upload_id']}/complete")
    assert status == 200 and again["sha256"] == done["sha256"], "complete is idempotent"


def test_aborted_upload_leaves_nothing(api):
    client, part_size = api
    source = os.urandom(2 * part_size)
    status, created = client.call("POST", "/uploads", {"type": "VAE", "filename": "v.safetensors", "size": len(source)})
    assert status == 201
    put_part(created["parts"][0]["url"], source[:part_size])

    status, body = client.call("DELETE", f"/uploads/{created['upload_id']}")
    assert status == 200 and body == {"aborted": True}
    assert client.leftover_parts() == []
    status, body = client.call("POST", f"/uploads/{created['upload_id']}/complete")
    assert status == 409, body
    status, body = client.call("GET", "/models/VAE/v.safetensors")
    assert status == 404


def test_complete_with_missing_part_is_refused_and_keeps_the_upload(api):
    client, part_size = api
    source = os.urandom(part_size + 10)
    status, created = client.call("POST", "/uploads", {"type": "VAE", "filename": "w.safetensors", "size": len(source)})
    put_part(created["parts"][0]["url"], source[:part_size])
    status, body = client.call("POST", f"/uploads/{created['upload_id']}/complete")
    assert status == 409 and "2" in body["message"], body
    status, resume = client.call("GET", f"/uploads/{created['upload_id']}")
    assert [p["part_number"] for p in resume["parts_missing"]] == [2]
