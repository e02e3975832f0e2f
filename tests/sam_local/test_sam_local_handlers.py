"""The built event handlers run in the Lambda runtime (`sam local invoke`) on events/ samples.

Uses the sam_local fixtures: one `sam build`, moto as a container on a docker network.
Each handler must move a job stored in that moto exactly as the sample event says.
"""

from __future__ import annotations

import uuid

import boto3
import pytest

from sam_app.adapters.aws.dynamo_jobs import DynamoJobRecords
from tests.support.aws_handlers import EVENT_JOB_ID, EVENTS
from tests.support.job_record import job_record
from tests.support.sam_local import sam_local_invoke_raw
from tests.support.template_tables import create_tables

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture(scope="module")
def world(moto_container):
    """Bucket, tables and topic in the moto container; the env the functions get."""
    s3 = moto_container.client("s3")
    s3.create_bucket(Bucket="sdaws-compute")
    s3.put_object(Bucket="sdaws-compute", Key="Stable-diffusion/ab.safetensors", Body=b"0123456789")
    tables = create_tables(moto_container.client("dynamodb"), prefix=f"c{uuid.uuid4().hex[:6]}-")
    topic = moto_container.client("sns").create_topic(Name="sdaws-compute-notify")["TopicArn"]
    table = boto3.resource(
        "dynamodb",
        endpoint_url=moto_container.host_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).Table(tables["JobsTable"])
    env = {
        "SDAWS_ENDPOINT_URL": moto_container.function_endpoint,
        "MODELS_BUCKET": "sdaws-compute",
        "JOBS_TABLE": tables["JobsTable"],
        "TOPIC_ARN": topic,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    return {"records": DynamoJobRecords(table), "env": env, "network": moto_container.network}


def invoke(build_dir, world, function: str, event_name: str, tmp_path) -> dict:
    return sam_local_invoke_raw(build_dir, function, EVENTS / event_name, world["env"], world["network"], tmp_path)


def fresh_job(world, kind: str, spec: dict) -> None:
    world["records"].table.delete_item(Key={"job_id": EVENT_JOB_ID})
    world["records"].put_new(job_record(EVENT_JOB_ID, kind, spec, status="RUNNING"))


def test_sagemaker_events_function_finishes_a_processing_job(sam_build, world, tmp_path):
    fresh_job(world, "merge", {"model_a": "a.safetensors", "model_b": "b.safetensors", "output_name": "ab"})
    assert invoke(sam_build, world, "SageMakerEventsFunction", "sagemaker_processing_completed.json", tmp_path) == {
        "applied": True
    }
    job = world["records"].get(EVENT_JOB_ID)
    assert job.status == "SUCCEEDED" and job.outputs[0]["key"] == "Stable-diffusion/ab.safetensors"


def test_async_inference_function_fails_a_job_on_the_error_notification(sam_build, world, tmp_path):
    fresh_job(world, "txt2img", {"prompt": "x", "model": "base"})
    answer = invoke(sam_build, world, "AsyncInferenceFunction", "async_inference_error.json", tmp_path)
    assert answer == {"applied": 1, "messages": 1}
    job = world["records"].get(EVENT_JOB_ID)
    assert job.status == "FAILED" and job.error.startswith("ClientError")


def test_train_steps_function_fails_a_timed_out_training(sam_build, world, tmp_path):
    fresh_job(world, "train", {"base_model": "a.safetensors", "steps": 1, "output_name": "l"})
    assert invoke(sam_build, world, "TrainStepsFunction", "sfn_execution_timed_out.json", tmp_path) == {"applied": True}
    assert world["records"].get(EVENT_JOB_ID).status == "FAILED"
