"""The event handlers on the sample events in events/ (real AWS shapes), against moto."""

from __future__ import annotations

import boto3
import pytest

from sam_app.handlers import async_inference, sagemaker_events, train_steps
from tests.support.aws_handlers import EVENT_JOB_ID, LambdaContext, load_event, wire_handlers
from tests.support.aws_stack import REGION, inbox_messages
from tests.support.job_record import job_record
from tests.support.job_records import job_records

MERGE_SPEC = {"model_a": "a.safetensors", "model_b": "b.safetensors", "output_name": "ab"}
TXT2IMG_SPEC = {"prompt": "a cat", "model": "base", "seed": 1}
TRAIN_SPEC = {"base_model": "base.safetensors", "steps": 4, "output_name": "cat-lora"}


@pytest.fixture
def env(stack, monkeypatch):
    wire_handlers(monkeypatch, stack)
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack["jobs_table"])
    return {"stack": stack, "records": job_records(table), "s3": boto3.client("s3", region_name=REGION)}


def add_job(env, kind: str, spec: dict, status: str = "RUNNING", job_id: str = EVENT_JOB_ID):
    env["records"].put_new(job_record(job_id, kind, spec, status))


def test_processing_completed_succeeds_lists_output_and_mails_once(env):
    add_job(env, "merge", MERGE_SPEC)
    env["s3"].put_object(Bucket=env["stack"]["bucket"], Key="Stable-diffusion/ab.safetensors", Body=b"x" * 10)
    event = load_event("sagemaker_processing_completed.json")

    assert sagemaker_events.handler(event, LambdaContext()) == {"applied": True}
    assert sagemaker_events.handler(event, LambdaContext()) == {"applied": False}  # redelivered

    job = env["records"].get(EVENT_JOB_ID)
    assert job.status == "SUCCEEDED" and job.finished_at
    assert job.outputs == [
        {"type": "Stable-diffusion", "name": "ab.safetensors", "key": "Stable-diffusion/ab.safetensors", "size": 10}
    ]
    mail = inbox_messages(env["stack"])
    assert [m["subject"] for m in mail] == ["sdaws: merge succeeded"]


def test_processing_failed_records_reason_and_mails_it(env):
    add_job(env, "merge", MERGE_SPEC, status="STARTING")
    sagemaker_events.handler(load_event("sagemaker_processing_failed.json"), LambdaContext())

    job = env["records"].get(EVENT_JOB_ID)
    assert job.status == "FAILED"
    assert job.error == "AlgorithmError: See job logs for more information"
    [mail] = inbox_messages(env["stack"])
    assert mail["subject"] == "sdaws: merge failed" and "AlgorithmError" in mail["message"]


def test_training_in_progress_marks_running_and_its_end_is_left_to_the_machine(env):
    add_job(env, "train", TRAIN_SPEC, status="STARTING")
    event = load_event("sagemaker_training_in_progress.json")
    assert sagemaker_events.handler(event, LambdaContext()) == {"applied": True}
    job = env["records"].get(EVENT_JOB_ID)
    assert job.status == "RUNNING" and job.started_at

    event["detail"]["TrainingJobStatus"] = "Completed"
    assert sagemaker_events.handler(event, LambdaContext()) == {"applied": False}
    assert env["records"].get(EVENT_JOB_ID).status == "RUNNING"
    assert inbox_messages(env["stack"]) == []


def test_async_success_finishes_inference_job_with_its_images(env):
    add_job(env, "txt2img", TXT2IMG_SPEC)
    key = f"jobs/{EVENT_JOB_ID}/output/images/00000-1.png"
    env["s3"].put_object(Bucket=env["stack"]["bucket"], Key=key, Body=b"png")

    result = async_inference.handler(load_event("async_inference_success.json"), LambdaContext())

    assert result == {"applied": 1, "messages": 1}
    job = env["records"].get(EVENT_JOB_ID)
    assert job.status == "SUCCEEDED"
    assert job.outputs == [{"type": "images", "name": "00000-1.png", "key": key, "size": 3}]
    assert inbox_messages(env["stack"]) == []  # one e-mail per image would be noise


def test_async_error_fails_inference_job_with_reason(env):
    add_job(env, "img2img", dict(TXT2IMG_SPEC, init_image="cat.png"), status="STARTING")
    async_inference.handler(load_event("async_inference_error.json"), LambdaContext())
    job = env["records"].get(EVENT_JOB_ID)
    assert job.status == "FAILED" and job.error.startswith("ClientError: Received server error (500)")


def test_timed_out_training_execution_fails_the_job(env):
    add_job(env, "train", TRAIN_SPEC)
    assert train_steps.handler(load_event("sfn_execution_timed_out.json"), LambdaContext()) == {"applied": True}
    job = env["records"].get(EVENT_JOB_ID)
    assert job.status == "FAILED" and job.error == "training timed out"
    assert [m["subject"] for m in inbox_messages(env["stack"])] == ["sdaws: train failed"]


def test_late_event_never_reverses_a_final_status(env):
    add_job(env, "merge", MERGE_SPEC, status="CANCELLED")
    assert sagemaker_events.handler(load_event("sagemaker_processing_completed.json"), LambdaContext()) == {
        "applied": False
    }
    assert env["records"].get(EVENT_JOB_ID).status == "CANCELLED"
    assert inbox_messages(env["stack"]) == []


def test_events_for_unknown_or_foreign_jobs_are_ignored(env):
    event = load_event("sagemaker_processing_completed.json")
    assert sagemaker_events.handler(event, LambdaContext()) == {"applied": False}  # no such job
    event["detail"]["ProcessingJobName"] = "someone-elses-job"
    assert sagemaker_events.handler(event, LambdaContext()) == {"applied": False}
    garbage = {"Records": [{"Sns": {"Message": "not json"}}]}
    assert async_inference.handler(garbage, LambdaContext()) == {"applied": 0, "messages": 0}
