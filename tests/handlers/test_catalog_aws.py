"""The catalog on AWS, as deployed: objects arrive in the bucket (put_object, as `aws s3 cp`
does), the ModelHashFunction handler takes the bucket's EventBridge "Object Created" events
and hashes them (or starts a `hash` processing job past its limits), the API handler finds
by hash, lists duplicates, searches, edits NAME.json and sets previews; imports run as
processing jobs whose token travels beside the spec only; the job events record a hash
job's result and forget an import's token; the job code itself streams an import into
the bucket. All on moto, every call checked against template.yaml by the IAM test."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import dataclass

import boto3
import pytest
import requests

from sam_app.adapters.aws.dynamo_jobs import DynamoJobRecords
from sam_app.adapters.aws.dynamo_tables import DynamoModelCatalog
from sam_app.adapters.aws.job_event_sink import JobEventSink
from sam_app.adapters.aws.s3_outputs import S3JobOutputs
from sam_app.core.job_events import JobTransition
from sdaws.contract import job_status as st
from tests.support.aws_handlers import load_event
from tests.support.catalog_files import (
    PNG_1X1,
    civitai_version_info,
    kohya_lora_tensors,
    kohya_metadata,
    write_safetensors,
)
from tests.support.import_server import ModelServer, Served

TOKEN = "hf_secret_0123456789abcdefghij"


@dataclass
class Context:
    """What Lambda passes: the time left decides whether hashing fits in this invocation."""

    remaining_ms: int = 900_000
    function_name: str = "sdaws-model-hash"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sdaws-model-hash"
    aws_request_id: str = "00000000-0000-0000-0000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def created(bucket: str, key: str) -> dict:
    event = load_event("s3_object_created.json")
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"]["key"] = key
    return event


@pytest.fixture
def processing_requests(compute_api):
    """CreateProcessingJob requests as sent (moto does not describe their Environment)."""
    sent: list[dict] = []

    def keep(params, **_):
        sent.append(copy.deepcopy(params))

    events = boto3._get_default_session().events
    events.register("provide-client-params.sagemaker.CreateProcessingJob", keep)
    yield sent
    events.unregister("provide-client-params.sagemaker.CreateProcessingJob", keep)


@pytest.fixture
def hash_function(compute_api):
    import sam_app.handlers.model_hash as model_hash

    model_hash.shared_hashing.cache_clear()
    yield lambda event, ctx=None: model_hash.handler(event, ctx or Context())
    model_hash.shared_hashing.cache_clear()


@pytest.fixture
def lora_bytes(tmp_path):
    path = write_safetensors(tmp_path / "l.safetensors", kohya_lora_tensors("sdxl"), kohya_metadata("sdxl_base_v1-0"))
    return path.read_bytes()


def test_objects_however_they_arrive_are_hashed_found_searched_and_edited(compute_api, hash_function, lora_bytes):
    call, env = compute_api
    s3, bucket = boto3.client("s3"), env["MODELS_BUCKET"]
    sha = hashlib.sha256(lora_bytes).hexdigest()
    for key in ("Lora/sks_cat.safetensors", "Lora/sks_cat_copy.safetensors"):
        s3.put_object(Bucket=bucket, Key=key, Body=lora_bytes)
    s3.put_object(Bucket=bucket, Key="Lora/sks_cat.preview.png", Body=PNG_1X1)
    info = json.dumps(civitai_version_info(sha, base_model="SDXL 1.0")).encode()
    s3.put_object(Bucket=bucket, Key="Lora/sks_cat.civitai.info", Body=info)

    status, before = call("GET", "/models/Lora/sks_cat.safetensors")
    assert status == 200 and before["hash"] == {**before["hash"], "status": "pending"}
    for key in ("Lora/sks_cat.safetensors", "Lora/sks_cat_copy.safetensors", "Lora/sks_cat.preview.png"):
        hash_function(created(bucket, key))

    status, info_body = call("GET", "/models/Lora/sks_cat.safetensors")
    assert status == 200 and info_body["sha256"] == sha and info_body["hash"]["autov2"] == sha[:10]
    assert info_body["catalog"]["family"] == "SDXL" and info_body["catalog"]["title"] == "Sks Cat"
    assert info_body["catalog"]["preview"] == "Lora/sks_cat.preview.png"

    status, listed = call("GET", "/models", query={"type": "Lora"})
    assert [i["name"] for i in listed["items"]] == ["sks_cat.safetensors", "sks_cat_copy.safetensors"]
    status, found = call("GET", "/models", query={"hash": sha[:10].upper()})
    assert status == 200 and [i["name"] for i in found["items"]] == ["sks_cat.safetensors", "sks_cat_copy.safetensors"]
    status, dups = call("GET", "/models/duplicates")
    assert status == 200 and dups["groups"][0]["models"] == [
        "Lora/sks_cat.safetensors",
        "Lora/sks_cat_copy.safetensors",
    ]
    status, page = call("GET", "/models/search", query={"tag": "sks cat", "family": "SDXL"})
    assert status == 200 and {i["name"] for i in page["items"]} == {"sks_cat.safetensors", "sks_cat_copy.safetensors"}

    status, edited = call("PATCH", "/models/Lora/sks_cat.safetensors/metadata", {"notes": "n", "preferred_weight": 0.6})
    assert status == 200 and edited["notes"] == "n"
    stored = json.loads(s3.get_object(Bucket=bucket, Key="Lora/sks_cat.json")["Body"].read())
    assert stored == {"notes": "n", "preferred weight": 0.6}
    status, shown = call(
        "PUT", "/models/Lora/sks_cat.safetensors/preview", {"image_base64": base64.b64encode(PNG_1X1).decode()}
    )
    assert status == 200 and shown["preview"] == "Lora/sks_cat.preview.png"
    status, bad = call("PUT", "/models/Lora/sks_cat.safetensors/preview", {"image_base64": "not base64!"})
    assert status == 400 and "base64" in bad["message"]

    status, _ = call("DELETE", "/models/Lora/sks_cat.safetensors")
    assert status == 200
    left = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="Lora/")["Contents"])
    assert left == ["Lora/sks_cat_copy.safetensors"]  # the sidecars went with the model


def _sink(env) -> JobEventSink:
    dynamodb, s3 = boto3.resource("dynamodb"), boto3.client("s3")
    return JobEventSink(
        DynamoJobRecords(dynamodb.Table(env["JOBS_TABLE"])),
        S3JobOutputs(s3, env["MODELS_BUCKET"]),
        catalog=DynamoModelCatalog(dynamodb.Table(env["MODELS_TABLE"])),
    )


def test_past_the_lambdas_time_a_hash_job_runs_and_its_result_is_recorded(
    compute_api, hash_function, lora_bytes, processing_requests
):
    call, env = compute_api
    s3, bucket = boto3.client("s3"), env["MODELS_BUCKET"]
    s3.put_object(Bucket=bucket, Key="Lora/big.safetensors", Body=lora_bytes)
    short = Context(remaining_ms=30_000)  # under the safety margin: this invocation cannot finish
    answer = hash_function(created(bucket, "Lora/big.safetensors"), short)
    (hashed,) = answer["hashed"]
    assert hashed["status"] == "needs_job" and hashed["job_id"]
    again = hash_function(created(bucket, "Lora/big.safetensors"), short)  # S3 delivers at least once
    assert again["hashed"][0]["job_id"] == hashed["job_id"]

    status, job = call("GET", f"/jobs/{hashed['job_id']}")
    assert status == 200 and job["kind"] == "hash"
    (request,) = processing_requests
    assert request["Environment"]["SDAWS_IMPORT_DESTINATION"] == f"s3://{bucket}"
    assert request["AppSpecification"]["ContainerEntrypoint"][-3:] == ["hash", "--workdir", "/opt/ml/processing"]

    # What the processing job uploads from its output/ (sdaws_jobs.hash_job), then its end.
    head = s3.head_object(Bucket=bucket, Key="Lora/big.safetensors")
    sha = hashlib.sha256(lora_bytes).hexdigest()
    result = {"key": "Lora/big.safetensors", "sha256": sha, "size": len(lora_bytes), "etag": head["ETag"]}
    s3.put_object(Bucket=bucket, Key=f"jobs/{hashed['job_id']}/output/hash.json", Body=json.dumps(result).encode())
    sink = _sink(env)
    assert sink.apply(JobTransition(hashed["job_id"], st.predecessors(st.RUNNING), st.RUNNING))
    assert sink.apply(JobTransition(hashed["job_id"], st.predecessors(st.SUCCEEDED), st.SUCCEEDED))
    status, info = call("GET", "/models/Lora/big.safetensors")
    assert info["hash"]["status"] == "done" and info["sha256"] == sha and info["hash"]["verified"] is True


@pytest.fixture
def model_server():
    server = ModelServer(token=TOKEN)
    yield server
    server.stop()


def test_an_import_is_a_processing_job_whose_token_stays_beside_its_spec(compute_api, processing_requests):
    call, env = compute_api
    s3, bucket = boto3.client("s3"), env["MODELS_BUCKET"]
    body = {"source": "org/tiny-sd", "type": "diffusers", "name": "tiny", "token": TOKEN}
    status, job = call("POST", "/imports", body)
    assert status == 201, job
    assert job["kind"] == "import" and TOKEN not in json.dumps(job)
    (request,) = processing_requests
    assert TOKEN not in json.dumps(request, default=str)
    assert request["Environment"]["SDAWS_IMPORT_DESTINATION"] == f"s3://{bucket}"
    token_key = f"jobs/{job['job_id']}/config/import_token"
    assert s3.get_object(Bucket=bucket, Key=token_key)["Body"].read().decode() == TOKEN
    spec = json.loads(s3.get_object(Bucket=bucket, Key=f"jobs/{job['job_id']}/config/spec.json")["Body"].read())
    assert TOKEN not in json.dumps(spec) and spec["source"] == "org/tiny-sd"

    sink = _sink(env)
    assert sink.apply(JobTransition(job["job_id"], st.predecessors(st.FAILED), st.FAILED, {"error": "x"}))
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=token_key)  # forgotten when it ended

    status, refused = call("POST", "/imports", {"source": "https://x.example/m?token=abc", "type": "Lora"})
    assert status == 422 and "credential" in json.dumps(refused)


def test_the_import_job_streams_into_the_bucket_as_the_execution_role(compute_api, model_server, tmp_path, monkeypatch):
    """sdaws_jobs.import_job and hash_job in this process (their calls are the execution
    role's): a file from an HTTP server straight into a multipart upload at its tree key."""
    from sdaws.contract.hash_spec import HashSpec
    from sdaws.contract.import_spec import ImportSpec
    from sdaws_jobs import hash_job, import_job
    from sdaws_jobs.layout import Layout

    _, env = compute_api
    s3, bucket = boto3.client("s3"), env["MODELS_BUCKET"]
    payload = b"\x01" * (6 * 1024 * 1024 + 3)
    model_server.files["/m.safetensors"] = Served(payload)
    monkeypatch.setenv("SDAWS_IMPORT_DESTINATION", f"s3://{bucket}")
    monkeypatch.setenv("SDAWS_IMPORT_TOKEN", TOKEN)
    work = tmp_path / "job"
    (work / "input" / "config").mkdir(parents=True)
    (work / "output").mkdir()
    layout = Layout.resolve(str(work))
    spec = ImportSpec.model_validate({"source": f"{model_server.url}/m.safetensors", "type": "Lora"})
    import_job.run(spec, layout)
    assert s3.get_object(Bucket=bucket, Key="Lora/m.safetensors")["Body"].read() == payload
    manifest = json.loads((work / "output" / "import.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(payload).hexdigest()

    hash_job.run(HashSpec.model_validate({"key": "Lora/m.safetensors"}), layout)
    assert json.loads((work / "output" / "hash.json").read_text())["sha256"] == manifest["sha256"]


def test_use_as_preview_takes_an_image_a_job_made(compute_api, lora_bytes):
    """A txt2img job's image, where the endpoint wrote it and the job events found it."""
    from sam_app.core.jobs_service import new_job_id
    from tests.support.job_record import job_record

    call, env = compute_api
    s3, bucket = boto3.client("s3"), env["MODELS_BUCKET"]
    s3.put_object(Bucket=bucket, Key="Lora/sks_cat.safetensors", Body=lora_bytes)
    records = DynamoJobRecords(boto3.resource("dynamodb").Table(env["JOBS_TABLE"]))
    job = job_record(new_job_id(), "txt2img", {"prompt": "a cat"}, status="RUNNING")
    records.put_new(job)
    image = PNG_1X1 + b"\0"  # a PNG's bytes (the trailing byte makes it this job's own)
    s3.put_object(Bucket=bucket, Key=f"jobs/{job.job_id}/output/images/00000-42.png", Body=image)
    assert _sink(env).apply(JobTransition(job.job_id, st.predecessors(st.SUCCEEDED), st.SUCCEEDED))

    status, shown = call(
        "PUT", "/models/Lora/sks_cat.safetensors/preview", {"job_id": job.job_id, "output": "00000-42.png"}
    )
    assert status == 200, shown
    assert shown["preview"] == "Lora/sks_cat.preview.png" and shown["from_job"] == job.job_id
    assert s3.get_object(Bucket=bucket, Key="Lora/sks_cat.preview.png")["Body"].read() == image
    status, info = call("GET", "/models/Lora/sks_cat.safetensors")
    assert status == 200 and info["catalog"]["preview"] == "Lora/sks_cat.preview.png"
    assert requests.get(info["catalog"]["preview_url"], timeout=10).content == image  # presigned; moto answers
    status, missing = call("PUT", "/models/Lora/sks_cat.safetensors/preview", {"job_id": job.job_id, "output": "x.png"})
    assert status == 404 and "00000-42.png" in missing["message"]
