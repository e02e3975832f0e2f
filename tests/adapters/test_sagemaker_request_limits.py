"""Every request the launcher builds is one SageMaker accepts: checked against botocore's
service model (lengths, patterns, enums, list sizes), which botocore's own validator
checks only partly (no maxima at all). A training spec longer than one hyperparameter
value may be (2,500 characters) travels as the "spec" channel and reaches the job whole."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.validate import ParamValidator

from sdaws.contract.hyperparameters import MAX_HYPERPARAMETER_VALUE
from tests.support.aws_stack import JOB_IMAGE, REGION, stack_launcher
from tests.support.botocore_constraints import violations
from tests.support.job_record import job_record
from tests.support.state_machine import run_to_end

IMAGE = JOB_IMAGE
LONG_PROMPTS = [f"a photo of sks cat number {i}, {'highly detailed, ' * 8}studio light" for i in range(30)]
SPECS = {
    "merge": {"model_a": "a.safetensors", "model_b": "b.safetensors", "output_name": "ab"},
    "convert": {"model": "base.safetensors", "output_name": "conv"},
    "export": {"model": "base", "output_name": "exp"},
    "train": {"base_model": "base.safetensors", "steps": 3, "output_name": "cat", "sample_prompts": LONG_PROMPTS},
}


@pytest.fixture
def launcher(stack):
    return stack_launcher(stack, util_instance_type="ml.r5.large")


def test_the_model_check_catches_the_maxima_botocore_lets_through():
    request = {
        "TrainingJobName": "sdaws-x",
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {"spec": "x" * (MAX_HYPERPARAMETER_VALUE + 1)},
        "OutputDataConfig": {"S3OutputPath": "s3://b/o/"},
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 100},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    model = boto3.client("sagemaker", region_name=REGION).meta.service_model
    report = ParamValidator().validate(request, model.operation_model("CreateTrainingJob").input_shape)
    assert not report.has_errors()  # botocore: fine
    assert violations("sagemaker", "CreateTrainingJob", request) == [
        "CreateTrainingJob.HyperParameters['spec']: length 2501 > max 2500"
    ]


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_every_request_the_launcher_builds_is_within_the_service_limits(launcher, kind):
    launch, _ = launcher
    job = job_record("a" * 32, kind, SPECS[kind])
    if kind == "train":
        # The state machine adds RoleArn and sends the rest as the launcher built it.
        request = launch.training_input(job)["training"] | {"RoleArn": "arn:aws:iam::123456789012:role/sdaws-sagemaker"}
        assert violations("sagemaker", "CreateTrainingJob", request) == []
        assert len(json.dumps(job.spec)) > MAX_HYPERPARAMETER_VALUE  # too long for a hyperparameter
    else:
        assert violations("sagemaker", "CreateProcessingJob", launch.processing_request(job)) == []


def test_a_spec_longer_than_a_hyperparameter_reaches_the_training_job_whole(stack, launcher, tmp_path):
    from sdaws_jobs.layout import Layout

    launch, records = launcher
    job = job_record("b" * 32, "train", SPECS["train"])
    records.put_new(job)
    launch.launch(job)  # the machine's CreateTrainingJob runs in moto (its parameters are checked too)
    run_to_end(records.get(job.job_id).launch["execution_arn"])
    training = boto3.client("sagemaker", region_name=REGION).describe_training_job(
        TrainingJobName=f"sdaws-{job.job_id}"
    )

    # What SageMaker puts in the container: hyperparameters.json and each channel's objects.
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text(json.dumps(training["HyperParameters"]))
    s3 = boto3.client("s3", region_name=REGION)
    [channel] = [c for c in training["InputDataConfig"] if c["ChannelName"] == "spec"]
    prefix = channel["DataSource"]["S3DataSource"]["S3Uri"].split("/", 3)[3]
    for obj in s3.list_objects_v2(Bucket=stack["bucket"], Prefix=prefix)["Contents"]:
        target = tmp_path / "input" / "data" / "spec" / obj["Key"][len(prefix) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(s3.get_object(Bucket=stack["bucket"], Key=obj["Key"])["Body"].read())

    assert Layout.resolve(tmp_path).load_spec("train") == SPECS["train"]
