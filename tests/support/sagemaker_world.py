"""The world the job image's CPU twin runs in as SageMaker would run it: moto as a
container on a user-defined docker network (the job containers reach it as
http://<name>:5000, the tests on the host through a port on 127.0.0.1), with training
jobs that stay InProgress until the emulated SageMaker reports their end
(tests/support/moto_server_sagemaker.py)."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass

import boto3
import pytest
import requests

from tests.support.env import REPO_ROOT, docker_available, need
from tests.support.moto_env import use_fake_aws
from tests.support.sam_local import MOTO_IMAGE, MotoContainer, _image_present, answering
from tests.support.serve_process import free_port

WRAPPER = REPO_ROOT / "tests" / "support" / "moto_server_sagemaker.py"


@dataclass
class SageMakerWorld(MotoContainer):
    """The moto container sam_local starts, run with the SageMaker wrapper (one moto per test)."""

    @property
    def container_endpoint(self) -> str:  # what the job's containers on the network reach
        return self.function_endpoint

    def reset(self) -> None:
        requests.post(f"{self.host_endpoint}/moto-api/reset", timeout=30).raise_for_status()
        config = {"stepfunctions": {"execute_state_machine": True}}
        requests.post(f"{self.host_endpoint}/moto-api/config", json=config, timeout=30).raise_for_status()


@pytest.fixture(scope="session")
def sagemaker_world():
    need(docker_available(), "no Docker engine (run ../shared/tools/lambda-emulation-image.sh)")
    need(_image_present(MOTO_IMAGE), f"image {MOTO_IMAGE} missing (run ../shared/tools/lambda-emulation-image.sh)")
    suffix = uuid.uuid4().hex[:8]
    network, name, port = f"sdaws-sm-{suffix}", f"sdaws-sm-moto-{suffix}", free_port()
    subprocess.run(["docker", "network", "create", network], check=True, capture_output=True)
    subprocess.run(
        [
            "docker", "run", "-d", "--rm", "--name", name, "--network", network,
            "-p", f"127.0.0.1:{port}:5000",
            "-v", f"{WRAPPER}:/opt/sdaws/moto_server_sagemaker.py:ro",
            "--entrypoint", "/usr/bin/python3", MOTO_IMAGE,
            "/opt/sdaws/moto_server_sagemaker.py", "-H", "0.0.0.0", "-p", "5000",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    with answering(SageMakerWorld(network, name, f"http://127.0.0.1:{port}"), seconds=60) as world:
        yield world


@pytest.fixture(scope="session")
def job_image():
    """The CPU twin of the job image, built once per content (tests/support/job_image.py)."""
    need(docker_available(), "no Docker engine to build the job image's CPU twin")
    from tests.support.job_image import ensure_image

    return ensure_image()


@dataclass
class JobWorld:
    """A stack's resources in the moto container, the API's environment pointing at them."""

    world: SageMakerWorld
    env: dict[str, str]
    bucket: str
    emulator: object

    def client(self, service: str):
        return self.world.client(service)


@pytest.fixture
def job_world(sagemaker_world, job_image, monkeypatch):
    """A fresh moto (bucket, template tables, topics, training state machine), the API's
    and the event handlers' environment as template.yaml sets it, and SageMaker's side."""
    from tests.support import deployed
    from tests.support.sagemaker_emulator import SageMakerEmulator
    from tests.support.state_machine import create_machine
    from tests.support.template_tables import create_api_world

    sagemaker_world.reset()
    use_fake_aws(monkeypatch, endpoint=sagemaker_world.host_endpoint)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    client = sagemaker_world.client
    from tests.support.api_world import TOKEN

    env = create_api_world(client("s3"), client("dynamodb"), client("apigateway"), TOKEN)
    sns = client("sns")
    topics = {name: sns.create_topic(Name=f"sdaws-{name}")["TopicArn"] for name in ("notify", "ok", "err")}
    role = "arn:aws:iam::123456789012:role/sdaws-SageMakerExecutionRole-1A2B3C"
    machine = create_machine(
        {
            "role_arn": role,
            "bucket": env["MODELS_BUCKET"],
            "jobs_table": env["JOBS_TABLE"],
            "topic_arn": topics["notify"],
        }
    )
    env |= {
        "TOPIC_ARN": topics["notify"],
        "ENDPOINT_PREFIX": "sdaws",
        "ENDPOINT_NAME": "sdaws-default",
        "JOB_IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/sdaws-jobs:twin",
        "SAGEMAKER_ROLE_ARN": role,
        "INFERENCE_SUCCESS_TOPIC_ARN": topics["ok"],
        "INFERENCE_ERROR_TOPIC_ARN": topics["err"],
        "UTIL_INSTANCE_TYPE": "ml.r5.large",
        "TRAIN_INSTANCE_TYPE": "ml.g5.xlarge",
        "INFERENCE_INSTANCE_TYPE": "ml.g4dn.xlarge",
        "TRAIN_STATE_MACHINE_ARN": machine,
        "TRAIN_POLL_SECONDS": "1",
        "UPLOAD_PART_BYTES": str(5 * 1024 * 1024),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    deployed.register_role("SageMakerExecutionRole", role)
    deployed.register_topic("NotificationTopic", topics["notify"])
    deployed.register_topic("InferenceSuccessTopic", topics["ok"])
    deployed.register_topic("InferenceErrorTopic", topics["err"])
    deployed.register_state_machine("TrainStateMachine", machine)
    return JobWorld(sagemaker_world, env, env["MODELS_BUCKET"], SageMakerEmulator(sagemaker_world, job_image))
