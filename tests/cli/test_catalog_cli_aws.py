"""The catalog commands against the AWS API as a user meets it: the installed `sdaws` as a
process, API Gateway's routes in front of the real Lambda handler (tests/support/gateway.py),
moto as a real HTTP server behind it; models arrive with put_object (as `aws s3 cp`) and
the ModelHashFunction handler takes the bucket's events."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3

from tests.support.api_world import TOKEN
from tests.support.aws_handlers import LambdaContext, load_event
from tests.support.catalog_files import PNG_1X1, kohya_lora_tensors, kohya_metadata, write_safetensors
from tests.support.env import REPO_ROOT

SDAWS = str(Path(sys.executable).parent / "sdaws")
SOURCE_TOKEN = "civitai-key-aws-0123456789abcdef"


def sdaws(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'containers'}", **(env or {})}
    for name in ("AWS_ENDPOINT_URL", "SDAWS_IMPORT_TOKEN"):  # the user's shell has neither
        if name not in (env or {}):
            full_env.pop(name, None)
    return subprocess.run(
        [SDAWS, *args, "--api", url, "--token", TOKEN], capture_output=True, text=True, env=full_env, timeout=180
    )


def ok_json(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def hash_event(bucket: str, key: str) -> dict:
    event = load_event("s3_object_created.json")
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key
    return event


def test_search_find_edit_and_import_on_aws(compute_gateway, tmp_path):
    url = compute_gateway
    s3, bucket = boto3.client("s3"), os.environ["MODELS_BUCKET"]
    lora = write_safetensors(tmp_path / "l.safetensors", kohya_lora_tensors("sdxl"), kohya_metadata("sdxl_base_v1-0"))
    data = lora.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    s3.put_object(Bucket=bucket, Key="Lora/sks_cat.safetensors", Body=data)
    s3.put_object(Bucket=bucket, Key="Lora/sks_cat.preview.png", Body=PNG_1X1)

    pending = ok_json(sdaws(url, "models", "info", "Lora/sks_cat.safetensors", "--json"))
    assert pending["hash"]["status"] == "pending"
    import sam_app.handlers.model_hash as model_hash

    model_hash.shared_hashing.cache_clear()
    try:
        model_hash.handler(hash_event(bucket, "Lora/sks_cat.safetensors"), LambdaContext())  # no time limit told
    finally:
        model_hash.shared_hashing.cache_clear()

    info = ok_json(sdaws(url, "models", "info", "Lora/sks_cat.safetensors", "--json"))
    assert info["sha256"] == sha and info["catalog"]["family"] == "SDXL"
    assert [i["name"] for i in ok_json(sdaws(url, "models", "ls", "Lora", "--json"))["items"]] == [
        "sks_cat.safetensors"
    ]
    found = sdaws(url, "models", "find", sha[:10])
    assert found.returncode == 0 and "sks_cat.safetensors" in found.stdout
    searched = ok_json(sdaws(url, "models", "search", "--tag", "sks", "--json"))["items"]
    assert [i["name"] for i in searched] == ["sks_cat.safetensors"]
    edited = ok_json(sdaws(url, "models", "edit", "Lora/sks_cat.safetensors", "--activation-text", "sks cat", "--json"))
    assert edited["activation_text"] == "sks cat"
    on_s3 = json.loads(s3.get_object(Bucket=bucket, Key="Lora/sks_cat.json")["Body"].read())
    assert on_s3 == {"activation text": "sks cat"}

    started = sdaws(
        url, "import", "https://civitai.com/api/download/models/1", "--type", "Lora", "--json",
        env={"SDAWS_IMPORT_TOKEN": SOURCE_TOKEN},
    )  # fmt: skip
    job = ok_json(started)
    assert job["kind"] == "import" and SOURCE_TOKEN not in started.stdout + started.stderr
    token_key = f"jobs/{job['job_id']}/config/import_token"
    assert s3.get_object(Bucket=bucket, Key=token_key)["Body"].read().decode() == SOURCE_TOKEN
    record = ok_json(sdaws(url, "jobs", "show", job["job_id"], "--json"))
    assert SOURCE_TOKEN not in json.dumps(record)
