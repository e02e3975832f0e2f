"""Converted models (`diffusers/<name>/` folders) through the API in both worlds: listed with
their total size, inspected (architecture and source from the conversion record), deleted
as a whole — the Lambda app over moto's S3 and the local server over a folder."""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from tests.support.api_world import AUTH, FakeLambdaContext, proxy_event

RECORD = {
    "arch": "sd1",
    "prediction_type": "epsilon",
    "image_size": 512,
    "upcast_attention": False,
    "reasons": ["text encoder is OpenAI CLIP"],
    "defaults_taken": [],
    "source": "base.safetensors",
}
FILES = {  # a converted pipeline, shrunk: what matters is the layout
    "model_index.json": b"{}",
    "sdaws_conversion.json": json.dumps(RECORD).encode(),
    "unet/diffusion_pytorch_model.safetensors": b"\0" * 1000,
    "vae/diffusion_pytorch_model.safetensors": b"\0" * 200,
}
SIZE = sum(len(v) for v in FILES.values())


class LambdaWorld:
    def __init__(self, handler, bucket: str) -> None:
        self.handler, self.bucket, self.s3 = handler, bucket, boto3.client("s3")

    def put(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)

    def keys(self, prefix: str) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix).get("Contents", [])]

    def call(self, method: str, path: str, query: dict | None = None) -> tuple[int, dict]:
        result = self.handler(proxy_event(method, path, AUTH, query=query), FakeLambdaContext())
        return result["statusCode"], json.loads(result["body"] or "{}")


class LocalWorld:
    def __init__(self, handle, root) -> None:
        self.url, self.root = handle.url, root

    def put(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def keys(self, prefix: str) -> list[str]:
        base = self.root / prefix
        return [str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file()] if base.exists() else []

    def call(self, method: str, path: str, query: dict | None = None) -> tuple[int, dict]:
        response = httpx.request(method, self.url + path, params=query, headers=AUTH)
        return response.status_code, response.json()


@pytest.fixture(params=["aws", "local"])
def world(request, tmp_path):
    if request.param == "aws":
        env = request.getfixturevalue("aws_env")
        return LambdaWorld(request.getfixturevalue("lambda_handler"), env["MODELS_BUCKET"])
    handle = request.getfixturevalue("api_server")
    return LocalWorld(handle, tmp_path / "models")


def test_converted_folders_are_listed_inspected_and_deleted(world):
    for name in ("alpha", "alpha-x", "beta"):
        for rel, data in FILES.items():
            world.put(f"diffusers/{name}/{rel}", data)
    world.put("diffusers/not-a-model/readme.txt", b"no model_index.json here")
    world.put("Stable-diffusion/base.safetensors", b"x")

    status, page = world.call("GET", "/models", {"type": "diffusers"})
    assert status == 200, page
    assert [(i["type"], i["name"], i["size"]) for i in page["items"]] == [
        ("diffusers", "alpha-x", SIZE),  # key order, as S3 lists: "alpha-x/" sorts before "alpha/"
        ("diffusers", "alpha", SIZE),
        ("diffusers", "beta", SIZE),
    ]
    status, first = world.call("GET", "/models", {"type": "diffusers", "limit": "2"})
    status, rest = world.call("GET", "/models", {"type": "diffusers", "limit": "2", "cursor": first["next_cursor"]})
    assert [i["name"] for i in first["items"] + rest["items"]] == ["alpha-x", "alpha", "beta"]
    status, everything = world.call("GET", "/models")
    assert ("diffusers", "beta") in [(i["type"], i["name"]) for i in everything["items"]]

    status, info = world.call("GET", "/models/diffusers/alpha")
    assert status == 200, info
    assert info["format"] == "diffusers" and info["size"] == SIZE
    assert info["architecture"]["arch"] == "sd1" and info["source"] == "Stable-diffusion/base.safetensors"

    status, deleted = world.call("DELETE", "/models/diffusers/alpha")
    assert status == 200 and deleted == {"deleted": True}
    assert world.keys("diffusers/alpha/") == [] and world.keys("diffusers/alpha-x/")
    status, missing = world.call("GET", "/models/diffusers/alpha")
    assert status == 404
    status, bad = world.call("GET", "/models/diffusers/a..b")
    assert status == 400, bad
