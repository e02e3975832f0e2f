"""SageMakerLauncher against moto: what each job kind asks of SageMaker and Step Functions."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import boto3
import pytest

from sam_app.adapters.aws.sagemaker_launcher import SageMakerLauncher
from tests.support.aws_stack import JOB_IMAGE, REGION, launch_clients, stack_launcher
from tests.support.env import REPO_ROOT
from tests.support.job_record import job_record
from tests.support.state_machine import run_to_end, state_names

IMAGE = JOB_IMAGE
ENDPOINT = "sdaws-default"


@pytest.fixture
def launcher(stack):
    return stack_launcher(stack, endpoint_name=ENDPOINT)


def submit(records, job_id: str, kind: str, spec: dict):
    job = job_record(job_id, kind, spec)
    records.put_new(job)
    return job


def test_merge_runs_as_processing_job_on_the_utility_instance(stack, launcher):
    launch, records = launcher
    spec = {"model_a": "a.safetensors", "model_b": "b.safetensors", "multiplier": 0.3, "output_name": "ab"}
    job = submit(records, "a" * 32, "merge", spec)
    launch.launch(job)

    sm = boto3.client("sagemaker", region_name=REGION)
    described = sm.describe_processing_job(ProcessingJobName=f"sdaws-{job.job_id}")
    # moto keeps no ProcessingResources; the request it was sent carries them.
    resources = launch.processing_request(job)["ProcessingResources"]["ClusterConfig"]
    assert resources == {"InstanceCount": 1, "InstanceType": "ml.c6i.2xlarge", "VolumeSizeInGB": 100}
    assert described["AppSpecification"]["ImageUri"] == IMAGE
    assert described["AppSpecification"]["ContainerEntrypoint"][-3:] == ["merge", "--workdir", "/opt/ml/processing"]
    inputs = {i["InputName"]: i["S3Input"] for i in described["ProcessingInputs"]}
    assert inputs["model_a-0"]["S3Uri"] == f"s3://{stack['bucket']}/Stable-diffusion/a.safetensors"
    assert inputs["model_a-0"]["LocalPath"] == "/opt/ml/processing/input/data/model_a"
    assert inputs["config"]["LocalPath"] == "/opt/ml/processing/input/config"
    [output] = described["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"] == f"s3://{stack['bucket']}/Stable-diffusion/"
    # The spec the job reads is in the config channel.
    body = (
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket=stack["bucket"], Key=f"jobs/{job.job_id}/config/spec.json")["Body"]
        .read()
    )
    assert json.loads(body) == spec
    stored = records.get(job.job_id)
    assert stored.status == "STARTING" and stored.launch["processing_job_arn"].endswith(f"sdaws-{job.job_id}")


def test_train_starts_the_state_machine_named_by_job_and_the_training_job_carries_the_spec(stack, launcher):
    launch, records = launcher
    spec = {"base_model": "base.safetensors", "steps": 3, "output_name": "cat"}
    job = submit(records, "b" * 32, "train", spec)
    launch.launch(job)

    arn = records.get(job.job_id).launch["execution_arn"]
    assert arn.endswith(f":{job.job_id}")
    run_to_end(arn)  # no LoRA appears in moto, so this ends on the failure path
    training = boto3.client("sagemaker", region_name=REGION).describe_training_job(
        TrainingJobName=f"sdaws-{job.job_id}"
    )
    # The spec is a channel (hyperparameter values are capped at 2,500 characters).
    assert training["HyperParameters"] == {"spec_channel": "spec"}
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in training["InputDataConfig"]}
    assert channels == {
        "spec": f"s3://{stack['bucket']}/jobs/{job.job_id}/spec/",
        "model": f"s3://{stack['bucket']}/Stable-diffusion/base.safetensors",
        "dataset": f"s3://{stack['bucket']}/job-inputs/cats/",
    }
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=stack["bucket"], Key=f"jobs/{job.job_id}/spec/spec.json"
    )["Body"]
    assert json.loads(body.read()) == spec
    assert training["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"
    with pytest.raises(boto3.client("stepfunctions", region_name=REGION).exceptions.ExecutionAlreadyExists):
        launch.launch(job)  # a retried launch cannot start a second training


def test_dreambooth_result_is_registered_as_a_checkpoint(launcher):
    launch, _ = launcher
    spec = {"base_model": "base.safetensors", "kind": "dreambooth", "steps": 3, "output_name": "me"}
    output = launch.training_input(job_record("9" * 32, "train", spec))["output"]
    assert output["target_key"] == "Stable-diffusion/me.safetensors"
    assert output["source_key"].endswith("/output/model/Stable-diffusion/me.safetensors")
    assert json.loads(output["record"]) == [
        {"type": "Stable-diffusion", "name": "me.safetensors", "key": "Stable-diffusion/me.safetensors"}
    ]


def test_txt2img_invokes_the_async_endpoint_with_its_request_in_s3(stack, launcher):
    launch, records = launcher
    spec = {"prompt": "a cat", "model": "base", "loras": [{"name": "style.safetensors", "weight": 0.8}]}
    job = submit(records, "c" * 32, "txt2img", spec)
    launch.launch(job)

    request = json.loads(
        boto3.client("s3", region_name=REGION)
        .get_object(Bucket=stack["bucket"], Key=f"jobs/{job.job_id}/request.json")["Body"]
        .read()
    )
    assert request == {
        "job_id": job.job_id,
        "kind": "txt2img",
        "spec": spec,
        "inputs": [
            {"channel": "model", "uri": f"s3://{stack['bucket']}/diffusers/base/", "folder": True},
            {"channel": "lora", "uri": f"s3://{stack['bucket']}/Lora/style.safetensors", "folder": False},
        ],
        "output": f"s3://{stack['bucket']}/jobs/{job.job_id}/output/",
    }
    stored = records.get(job.job_id)
    assert stored.status == "STARTING" and stored.launch["endpoint"] == ENDPOINT
    assert stored.launch["inference_output"].startswith("s3://")


def test_cancel_stops_processing_job_and_tolerates_finished_work(stack, launcher):
    launch, records = launcher
    job = submit(records, "d" * 32, "convert", {"model": "a.safetensors", "output_name": "conv"})
    launch.launch(job)
    launch.cancel(job)
    sm = boto3.client("sagemaker", region_name=REGION)
    assert sm.describe_processing_job(ProcessingJobName=f"sdaws-{job.job_id}")["ProcessingJobStatus"] == "Stopped"
    never_started = job_record("e" * 32, "merge", {"model_a": "a", "model_b": "b", "output_name": "x"})
    launch.cancel(never_started)  # nothing to stop: not an error


def test_a_job_id_that_cannot_name_a_sagemaker_job_is_refused(launcher):
    launch, records = launcher
    with pytest.raises(ValueError, match="cannot name a SageMaker job"):
        launch.launch(job_record("bad_id/..", "convert", {"model": "a.safetensors", "output_name": "x"}))


def test_cancel_training_aborts_the_waiting_execution(stack, launcher):
    launch, records = launcher
    waiting = SageMakerLauncher(*launch_clients(), replace(launch._cfg, poll_seconds=3600), records=records)
    job = submit(records, "8" * 32, "train", {"base_model": "base.safetensors", "steps": 3, "output_name": "c"})
    waiting.launch(job)
    arn = records.get(job.job_id).launch["execution_arn"]
    for _ in range(300):  # until the interpreter is in the wait (moto cannot stop it earlier)
        if "WaitForTraining" in state_names(arn):
            break
        time.sleep(0.1)
    # The execution stops first; moto then lacks StopTrainingJob (real SageMaker has it).
    with pytest.raises(NotImplementedError, match="stop_training_job"):
        waiting.cancel(job)
    assert run_to_end(arn)["status"] == "ABORTED"


@pytest.mark.parametrize("output_name", ["cat.safetensors", "cat"])
def test_a_trained_lora_named_with_its_extension_is_registered_where_the_job_wrote_it(
    stack, launcher, tmp_path, output_name
):
    """The job, the launcher and the register step agree on the file name (they once did
    not: `cat.safetensors` became `Lora/cat.safetensors.safetensors` and the job FAILED)."""
    from sdaws_jobs.layout import Layout

    launch, records = launcher
    spec = {"base_model": "base.safetensors", "steps": 3, "output_name": output_name}
    job = submit(records, "7" * 32, "train", spec)
    launch.launch(job)
    # Where the real job code writes its LoRA in a SageMaker training container, uploaded
    # by SageMaker from /opt/ml/model to <S3OutputPath>/<job name>/output/model/.
    (tmp_path / "input" / "config").mkdir(parents=True)
    hyperparameters = launch.training_input(job)["training"]["HyperParameters"]
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    layout = Layout.resolve(tmp_path)
    written, _, _ = layout.result_path("train", spec)
    s3 = boto3.client("s3", region_name=REGION)
    uploaded = f"jobs/{job.job_id}/output/sdaws-{job.job_id}/output/model/{layout.relative(written)}"
    s3.put_object(Bucket=stack["bucket"], Key=uploaded, Body=b"lora-bytes")

    result = run_to_end(records.get(job.job_id).launch["execution_arn"])

    assert result["status"] == "SUCCEEDED", result
    assert s3.get_object(Bucket=stack["bucket"], Key="Lora/cat.safetensors")["Body"].read() == b"lora-bytes"
    stored = records.get(job.job_id)
    assert stored.status == "SUCCEEDED" and [o["key"] for o in stored.outputs] == ["Lora/cat.safetensors"]


def test_the_register_step_gets_a_url_encoded_copy_source(launcher):
    """CopyObject's CopySource must be URL-encoded; ASL cannot encode, so the launcher does.
    (moto's interpreter calls boto3, which encodes it again, so the state machine runs in
    these tests use plain names; S3 itself decodes once.)"""
    from urllib.parse import unquote

    launch, _ = launcher
    spec = {"base_model": "base.safetensors", "steps": 3, "output_name": "my cat [v2] é"}
    output = launch.training_input(job_record("6" * 32, "train", spec))["output"]
    assert output["copy_source"].endswith("/model/Lora/my%20cat%20%5Bv2%5D%20%C3%A9.safetensors")
    assert unquote(output["copy_source"]) == f"{launch._cfg.bucket}/{output['source_key']}"
    asl = (REPO_ROOT / "sam_app" / "statemachines" / "train.asl.json").read_text()
    assert '"CopySource.$": "$.output.copy_source"' in asl
