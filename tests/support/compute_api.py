"""The real Lambda handlers over in-process moto with the compute side configured, as
template.yaml configures a stack with a job image: the API function and the endpoint
events function share one environment."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.support import deployed
from tests.support.api_world import AUTH, FakeLambdaContext, proxy_event
from tests.support.aws_handlers import LambdaContext

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sdaws-jobs:latest"
STACK = "sdaws-test"
ENDPOINT = f"{STACK}-default"


def compute_env(monkeypatch) -> dict[str, str]:
    """Set the compute variables template.yaml passes once a job image is configured (and
    register what they name as deployed); returns them."""
    sns = boto3.client("sns")
    env = {
        "ENDPOINT_PREFIX": STACK,
        "ENDPOINT_NAME": ENDPOINT,
        "JOB_IMAGE_URI": IMAGE,
        "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/sdaws-sagemaker",
        "INFERENCE_SUCCESS_TOPIC_ARN": sns.create_topic(Name="ok")["TopicArn"],
        "INFERENCE_ERROR_TOPIC_ARN": sns.create_topic(Name="err")["TopicArn"],
        "UTIL_INSTANCE_TYPE": "ml.r5.large",
        "TRAIN_INSTANCE_TYPE": "ml.g5.xlarge",
        "INFERENCE_INSTANCE_TYPE": "ml.g4dn.xlarge",
        "TRAIN_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:sdaws-test-train",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    deployed.register_stack_name(STACK)
    deployed.register_role("SageMakerExecutionRole", env["SAGEMAKER_ROLE_ARN"])
    deployed.register_topic("InferenceSuccessTopic", env["INFERENCE_SUCCESS_TOPIC_ARN"])
    deployed.register_topic("InferenceErrorTopic", env["INFERENCE_ERROR_TOPIC_ARN"])
    deployed.register_state_machine("TrainStateMachine", env["TRAIN_STATE_MACHINE_ARN"])
    return env


@pytest.fixture
def compute_api(aws_env, lambda_handler, monkeypatch):
    """call(method, path, body=None, headers=None) -> (status, body) on the API handler; and its env."""
    env = compute_env(monkeypatch)

    def call(method: str, path: str, body: dict | None = None, query: dict | None = None) -> tuple[int, dict]:
        event = proxy_event(
            method,
            path,
            headers=AUTH | {"content-type": "application/json"},
            query=query,
            body=json.dumps(body) if body is not None else None,
        )
        response = lambda_handler(event, FakeLambdaContext())
        return response["statusCode"], json.loads(response["body"])

    return call, aws_env | env


@pytest.fixture
def endpoint_events(compute_api, monkeypatch):
    """The EndpointEventsFunction handler, built from the same environment as deployed."""
    from sam_app.adapters.aws import endpoint_events

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    endpoint_events.shared_events.cache_clear()
    from sam_app.handlers.endpoint_events import handler

    yield lambda event: handler(event, LambdaContext())
    endpoint_events.shared_events.cache_clear()


@pytest.fixture
def compute_gateway(moto_http_world, monkeypatch):
    """The API handler with compute configured behind real HTTP (moto a real server too),
    for the real client, CLI and TUI: yields the API URL."""
    from tests.support.gateway import GatewayServer

    handler, _ = moto_http_world
    compute_env(monkeypatch)
    gateway = GatewayServer(handler)
    yield gateway.url
    gateway.stop()
