"""The job service on its AWS adapters (moto): DynamoDB records and idempotency, S3 tree and job inputs."""

from __future__ import annotations

import json

import boto3
import pytest

from sdaws.contract.errors import Conflict
from tests.support import deployed
from tests.support.aws_stack import bucket_and_tables
from tests.support.jobs_api import merge_params
from tests.support.s3_jobs_service import RecordingLauncher, s3_jobs_service

BUCKET = "sdaws-models"
TOKEN = "aws-jobs-token-0123456789abcdef"
MODELS = ("Stable-diffusion/a.safetensors", "Stable-diffusion/b.safetensors", "diffusers/base/model_index.json")


@pytest.fixture
def tree(aws):
    """(the S3 client, the table names): the bucket holds two checkpoints and a converted model."""
    return bucket_and_tables(BUCKET, MODELS, body=b"{}")


@pytest.fixture
def service(tree):
    s3, tables = tree
    launcher = RecordingLauncher()
    return s3_jobs_service(s3, BUCKET, tables, launcher), launcher, s3


def test_submit_resolves_refs_in_the_bucket_and_is_idempotent(service):
    svc, launcher, _ = service
    job, created = svc.submit("merge", merge_params("m"), idempotency_key="k-1")
    assert created and job["status"] == "QUEUED"
    again, created_again = svc.submit("merge", merge_params("m"), idempotency_key="k-1")
    assert again["job_id"] == job["job_id"] and not created_again
    with pytest.raises(Conflict):
        svc.submit("merge", merge_params("other"), idempotency_key="k-1")
    (launched,) = launcher.launched
    assert [(i.channel, i.key) for i in launched.inputs] == [
        ("model_a", "Stable-diffusion/a.safetensors"),
        ("model_b", "Stable-diffusion/b.safetensors"),
    ]
    assert launched.spec["model_a"] == "a.safetensors"

    cancelled = svc.cancel(job["job_id"])
    assert cancelled["status"] == "CANCELLED" and launcher.cancelled == [job["job_id"]]
    with pytest.raises(Conflict, match="already CANCELLED"):
        svc.cancel(job["job_id"])


def test_job_inputs_by_presigned_put_then_img2img(service):
    svc, launcher, s3 = service
    slot = svc.create_input("cat.png", 3, group="g1")
    assert slot["key"] == "job-inputs/g1/cat.png" and slot["method"] == "PUT"
    assert f"/{BUCKET}/job-inputs/g1/cat.png" in slot["url"] or "job-inputs/g1/cat.png" in slot["url"]
    assert "Signature" in slot["url"]
    s3.put_object(Bucket=BUCKET, Key=slot["key"], Body=b"png")  # what the client's PUT stores
    params = {"prompt": "a cat", "model": "diffusers/base", "init_image": slot["key"], "steps": 2}
    job, _ = svc.submit("img2img", params)
    assert job["name"] == "a cat"  # no name given: the prompt names it
    channels = {i.channel: (i.key, i.folder) for i in launcher.launched[-1].inputs}
    assert channels == {"model": ("diffusers/base", True), "init_image": ("job-inputs/g1/cat.png", False)}
    assert launcher.launched[-1].spec["init_image"] == "cat.png" and launcher.launched[-1].spec["model"] == "base"


def test_api_without_job_compute_answers_503(tree, monkeypatch):
    _, tables = tree
    key = boto3.client("apigateway").create_api_key(name="sdaws", value=TOKEN, enabled=True)
    deployed.register_api_key("ApiKey", key["id"])
    env = {
        "MODELS_BUCKET": BUCKET,
        "MODELS_TABLE": tables["ModelsTable"],
        "UPLOADS_TABLE": tables["UploadsTable"],
        "JOBS_TABLE": tables["JobsTable"],
        "IDEMPOTENCY_TABLE": tables["IdempotencyTable"],
        "API_KEY_ID": key["id"],
    }
    from sam_app.adapters.aws.wiring import build_aws_services
    from sam_app.api.dispatch import Dispatcher
    from sam_app.local_server.server import to_event

    dispatch = Dispatcher(build_aws_services(env))
    body = json.dumps({"kind": "merge", "params": merge_params("m")}).encode()
    answer = dispatch(to_event("POST", "/jobs", {"x-api-key": [TOKEN]}, body, "127.0.0.1"))
    assert answer["statusCode"] == 503
    assert "no job compute" in json.loads(answer["body"])["message"]
