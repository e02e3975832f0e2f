"""The training state machine executed by moto's Step Functions interpreter.

Real service integrations run against moto: SageMaker CreateTrainingJob and
DescribeTrainingJob (moto reports training jobs Completed), S3 CopyObject into Lora/,
the conditional DynamoDB update of the job and the SNS notification.
"""

from __future__ import annotations

import json

import boto3

from sam_app.adapters.aws.sagemaker_launcher import LauncherSettings, SageMakerLauncher
from tests.support.aws_stack import REGION, inbox_messages, job_item, put_job
from tests.support.job_record import job_record
from tests.support.state_machine import create_machine, run_to_end, start, state_names

TRAIN_SPEC = {"base_model": "base.safetensors", "steps": 4, "output_name": "cat-lora"}


def training_input(stack, job_id: str) -> dict:
    launcher = SageMakerLauncher(
        None,
        None,
        None,
        None,
        LauncherSettings(
            bucket=stack["bucket"],
            image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/sdaws:latest",
            role_arn=stack["role_arn"],
            util_instance_type="ml.r5.large",
            train_instance_type="ml.g5.xlarge",
            state_machine_arn="unused",
            endpoint_name="unused",
            poll_seconds=0,
        ),
    )
    return launcher.training_input(job_record(job_id, "train", TRAIN_SPEC))


def test_success_path_registers_lora_records_and_notifies(stack):
    job_id = "job-ok-1"
    put_job(stack, job_id, "STARTING")
    payload = training_input(stack, job_id)
    # What SageMaker uploads from /opt/ml/model when the training job completes.
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=stack["bucket"], Key=payload["output"]["source_key"], Body=b"lora-bytes")

    execution = start(create_machine(stack), payload, job_id)
    result = run_to_end(execution)

    assert result["status"] == "SUCCEEDED", result
    names = state_names(execution)
    assert names[:3] == ["StartTrainingJob", "WaitForTraining", "DescribeTrainingJob"]
    assert "RegisterResult" in names and "NotifySucceeded" in names
    training = boto3.client("sagemaker", region_name=REGION).describe_training_job(TrainingJobName=f"sdaws-{job_id}")
    assert training["AlgorithmSpecification"]["TrainingImage"].endswith("sdaws:latest")
    assert s3.get_object(Bucket=stack["bucket"], Key="Lora/cat-lora.safetensors")["Body"].read() == b"lora-bytes"
    item = job_item(stack, job_id)
    assert item["status"] == "SUCCEEDED"
    # Structured fields are JSON strings, as the job records adapter stores them.
    assert json.loads(item["outputs"]) == [
        {"type": "Lora", "name": "cat-lora.safetensors", "key": "Lora/cat-lora.safetensors"}
    ]
    assert item["finished_at"] and item["updated_at"] == item["finished_at"]
    mail = inbox_messages(stack)
    assert [m["subject"] for m in mail] == ["sdaws: training succeeded"]
    assert job_id in mail[0]["message"]


def _train_running_job(stack, job_id: str) -> tuple[dict, list[str]]:
    """A RUNNING job's training run through the state machine: (its end, the states it went through)."""
    put_job(stack, job_id, "RUNNING")
    execution = start(create_machine(stack), training_input(stack, job_id), job_id)
    return run_to_end(execution), state_names(execution)


def test_failure_path_records_failed_and_notifies(stack):
    # The training job "completes" but leaves no LoRA: registering fails, and the
    # failure path must record why and tell the user.
    job_id = "job-bad-1"
    result, names = _train_running_job(stack, job_id)

    assert result["status"] == "FAILED"
    assert names[-3:] == ["RecordFailed", "NotifyFailed", "TrainingFailed"]
    item = job_item(stack, job_id)
    assert item["status"] == "FAILED"
    assert "NoSuchKey" in item["error"] or "Not Found" in item["error"] or "does not exist" in item["error"]
    mail = inbox_messages(stack)
    assert [m["subject"] for m in mail] == ["sdaws: training failed"]
    assert job_id in mail[0]["message"]
    assert not _exists(stack, "Lora/cat-lora.safetensors")


def test_cancelled_job_is_left_alone_and_nobody_is_mailed(stack):
    job_id = "job-cancelled-1"
    put_job(stack, job_id, "CANCELLED")
    payload = training_input(stack, job_id)
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=stack["bucket"], Key=payload["output"]["source_key"], Body=b"x"
    )
    execution = start(create_machine(stack), payload, job_id)
    result = run_to_end(execution)

    assert result["status"] == "SUCCEEDED"
    assert state_names(execution)[-1] == "AlreadyFinished"
    assert job_item(stack, job_id)["status"] == "CANCELLED"
    assert inbox_messages(stack) == []


def test_training_job_failure_in_sagemaker_is_recorded_with_its_reason(stack, monkeypatch):
    # moto completes every training job at once; here its emulated training jobs end
    # Failed instead, with a FailureReason, as SageMaker reports an out-of-memory crash.
    from moto.sagemaker import models as sagemaker_models

    original_init = sagemaker_models.FakeTrainingJob.__init__

    def failing_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.training_job_status = "Failed"
        self.failure_reason = "AlgorithmError: CUDA out of memory"

    monkeypatch.setattr(sagemaker_models.FakeTrainingJob, "__init__", failing_init)
    job_id = "job-oom-1"
    result, names = _train_running_job(stack, job_id)

    assert result["status"] == "FAILED"
    assert "ExplainTrainingFailure" in names and "RegisterResult" not in names
    item = job_item(stack, job_id)
    assert item["status"] == "FAILED"
    assert item["error"] == "TrainingJobFailed: AlgorithmError: CUDA out of memory"
    mail = inbox_messages(stack)
    assert [m["subject"] for m in mail] == ["sdaws: training failed"]
    assert "CUDA out of memory" in mail[0]["message"]


def _exists(stack, key: str) -> bool:
    s3 = boto3.client("s3", region_name=REGION)
    return s3.list_objects_v2(Bucket=stack["bucket"], Prefix=key).get("KeyCount", 0) > 0
