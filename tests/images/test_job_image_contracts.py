"""The job image's contracts under Docker: its CPU twin (same Dockerfile stages and pins,
tests/support/job_image.py) run as SageMaker runs it, from the very requests the
launcher sent (recorded as the API made them), with moto's S3 on a docker network
(tests/support/sagemaker_emulator.py plays SageMaker's side)."""

from __future__ import annotations

import io
import json

import pytest
import requests
from PIL import Image

from tests.support.aws_calls import made_in_this_test
from tests.support.job_api_calls import api_call, fresh_api
from tests.support.sagemaker_emulator import SageMakerEmulator

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.fixture
def world(job_world, tiny_sd):
    fresh_api()
    s3 = job_world.client("s3")
    for path in tiny_sd.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), job_world.bucket, f"diffusers/tiny-sd/{path.relative_to(tiny_sd).as_posix()}")
    yield job_world
    fresh_api()


def _dataset(world) -> str:
    s3 = world.client("s3")
    for i, color in enumerate([(200, 30, 30), (30, 200, 30)]):
        buffer = io.BytesIO()
        Image.new("RGB", (32, 32), color).save(buffer, format="PNG")
        s3.put_object(Bucket=world.bucket, Key=f"job-inputs/cats/{i}.png", Body=buffer.getvalue())
        s3.put_object(Bucket=world.bucket, Key=f"job-inputs/cats/{i}.txt", Body=b"a photo of sks cat")
    return "cats"


def _training_request() -> dict:
    [start] = made_in_this_test("stepfunctions", "StartExecution")
    return json.loads(start["input"])["training"]


TRAIN = {"base_model": "tiny-sd", "steps": 2, "resolution": 32, "output_name": "cat", "seed": 1}


def test_training_reads_hyperparameters_and_channels_and_writes_the_lora_to_opt_ml_model(world):
    status, job = api_call("POST", "/jobs", {"kind": "train", "params": TRAIN | {"dataset": _dataset(world)}})
    assert status == 201, job
    request = _training_request()
    assert request["AlgorithmSpecification"]["ContainerEntrypoint"] == ["python", "-m", "sdaws_jobs", "train"]

    run = world.emulator.run_training(request)

    assert run.exit_code == 0, "\n".join(run.lines[-40:])
    assert run.failure is None
    assert list(run.files) == ["Lora/cat.safetensors"]
    events = [json.loads(line) for line in run.lines if line.startswith('{"event"')]
    assert events[-1] == {"event": "done"} and any(e["event"] == "progress" for e in events)
    uploaded = f"jobs/{job['job_id']}/output/{request['TrainingJobName']}/output/model/Lora/cat.safetensors"
    assert world.client("s3").head_object(Bucket=world.bucket, Key=uploaded)["ContentLength"] > 0


def test_a_bad_spec_exits_2_with_the_reason_in_opt_ml_output_failure(world):
    status, job = api_call("POST", "/jobs", {"kind": "train", "params": TRAIN | {"dataset": _dataset(world)}})
    assert status == 201, job
    # A spec the job refuses (as from an older API): the container says why, SageMaker shows it.
    key = f"jobs/{job['job_id']}/spec/spec.json"
    world.client("s3").put_object(Bucket=world.bucket, Key=key, Body=json.dumps(TRAIN | {"steps": 0}).encode())

    run = world.emulator.run_training(_training_request())

    assert run.exit_code == 2
    assert run.failure.startswith("invalid spec: spec.steps: Input should be greater than or equal to 1")
    assert run.files == {}


def test_on_a_gpu_instance_without_cuda_training_fails_fast_with_the_reason(world, job_image):
    api_call("POST", "/jobs", {"kind": "train", "params": TRAIN | {"dataset": _dataset(world)}})
    as_on_sagemaker = SageMakerEmulator(world.world, job_image, keep_instance_type=True)

    run = as_on_sagemaker.run_training(_training_request())

    assert run.exit_code == 1
    assert "ml.g5.xlarge has an NVIDIA GPU but torch" in run.failure and "Refusing to run on the CPU" in run.failure


def test_processing_mounts_inputs_and_uploads_the_result_into_the_tree(world, tmp_path):
    import torch
    from safetensors.torch import save_file

    s3 = world.client("s3")
    for name, value in (("a", 0.0), ("b", 1.0)):
        save_file({"model.diffusion_model.w": torch.full((2, 2), value)}, str(tmp_path / f"{name}.safetensors"))
        s3.upload_file(str(tmp_path / f"{name}.safetensors"), world.bucket, f"Stable-diffusion/{name}.safetensors")
    params = {"model_a": "a.safetensors", "model_b": "b.safetensors", "multiplier": 0.25, "output_name": "ab"}
    status, job = api_call("POST", "/jobs", {"kind": "merge", "params": params})
    assert status == 201, job
    [request] = made_in_this_test("sagemaker", "CreateProcessingJob")

    run = world.emulator.run_processing(request)

    assert run.exit_code == 0, "\n".join(run.lines[-40:])
    assert list(run.files) == ["ab.safetensors"]
    from safetensors.torch import load

    merged = load(s3.get_object(Bucket=world.bucket, Key="Stable-diffusion/ab.safetensors")["Body"].read())
    assert torch.allclose(merged["model.diffusion_model.w"], torch.full((2, 2), 0.25))


@pytest.fixture
def endpoint(world):
    """The endpoint the first txt2img creates, its container started as SageMaker starts it."""
    params = {"prompt": "a lighthouse", "model": "tiny-sd", "steps": 2, "width": 32, "height": 32, "seed": 3}
    status, job = api_call("POST", "/jobs", {"kind": "txt2img", "params": params})
    assert status == 201, job
    sm = world.client("sagemaker")
    described = sm.describe_endpoint(EndpointName="sdaws-default")
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    serving = world.emulator.start_endpoint(model["PrimaryContainer"]["Environment"])
    try:
        serving.wait_until_healthy()
        yield job, serving, config
    finally:
        serving.stop()


def test_serve_answers_ping_and_runs_a_job_request_from_s3_into_s3(world, endpoint):
    job, serving, config = endpoint
    assert requests.get(f"{serving.url}/ping", timeout=5).status_code == 200
    [invocation] = made_in_this_test("sagemaker-runtime", "InvokeEndpointAsync")

    notice = world.emulator.invoke_async(serving, invocation, config)

    assert notice["invocationStatus"] == "Completed" and notice["inferenceId"] == job["job_id"]
    s3 = world.client("s3")
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket=world.bucket, Prefix=f"jobs/{job['job_id']}/output/")["Contents"]
    ]
    assert keys == [f"jobs/{job['job_id']}/output/images/00000-3.png"]
    answer = json.loads(
        s3.get_object(Bucket=world.bucket, Key=notice["responseParameters"]["outputLocation"].split("/", 3)[3])[
            "Body"
        ].read()
    )
    assert answer["uploaded"] == keys


def test_serve_answers_a_bad_request_with_400_and_the_reason(endpoint):
    _, serving, _ = endpoint
    bad = requests.post(
        f"{serving.url}/invocations",
        json={"kind": "txt2img", "spec": {"prompt": "x"}, "output": "s3://b/o/"},
        timeout=60,
    )
    assert bad.status_code == 400 and "model" in bad.json()["error"]
    assert requests.get(f"{serving.url}/nope", timeout=5).status_code == 404


def test_serve_on_a_gpu_instance_without_cuda_exits_instead_of_serving_from_the_cpu(job_image):
    from tests.support.sagemaker_emulator import run_container_once

    run = run_container_once(job_image, ["serve"], {"SDAWS_INSTANCE_TYPE": "ml.g4dn.xlarge"})
    assert run.exit_code == 1
    assert any("ml.g4dn.xlarge has an NVIDIA GPU but torch" in line for line in run.lines)
