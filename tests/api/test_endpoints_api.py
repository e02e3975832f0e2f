"""GET/POST/DELETE /endpoints through the real Lambda handler over moto, and on the local server.

moto has no UpdateEndpoint, so resizing an existing endpoint is not exercised here.
"""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from tests.support.api_world import AUTH, FakeLambdaContext, proxy_event

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sdaws-jobs:latest"
STACK = "sdaws-test"


@pytest.fixture
def api(aws_env, lambda_handler, monkeypatch):
    sns = boto3.client("sns")
    env = {
        "ENDPOINT_PREFIX": STACK,
        "ENDPOINT_NAME": f"{STACK}-default",
        "JOB_IMAGE_URI": IMAGE,
        "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/sdaws-sagemaker",
        "INFERENCE_SUCCESS_TOPIC_ARN": sns.create_topic(Name="ok")["TopicArn"],
        "INFERENCE_ERROR_TOPIC_ARN": sns.create_topic(Name="err")["TopicArn"],
        "UTIL_INSTANCE_TYPE": "ml.r5.large",
        "TRAIN_INSTANCE_TYPE": "ml.g5.xlarge",
        "TRAIN_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:sdaws-train",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        event = proxy_event(
            method,
            path,
            headers=AUTH | {"content-type": "application/json"},
            body=json.dumps(body) if body is not None else None,
        )
        response = lambda_handler(event, FakeLambdaContext())
        return response["statusCode"], json.loads(response["body"])

    return call, env


def test_create_scales_to_zero_on_backlog_and_delete_cleans_up(api):
    call, env = api
    assert call("GET", "/endpoints") == (200, {"endpoints": [], "mode": "aws"})

    # ml.g4dn: moto's list of endpoint instance types predates g5/g6.
    status, created = call(
        "POST", "/endpoints", {"instance_type": "ml.g4dn.xlarge", "min_instances": 0, "max_instances": 2}
    )
    assert status == 200, created
    assert created == {
        "name": "default",
        "status": "InService",
        "instance_type": "ml.g4dn.xlarge",
        "min_instances": 0,
        "max_instances": 2,
        "current_instances": created["current_instances"],
    }
    endpoint = f"{STACK}-default"
    sm = boto3.client("sagemaker")
    config = sm.describe_endpoint_config(
        EndpointConfigName=sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    )
    notify = config["AsyncInferenceConfig"]["OutputConfig"]["NotificationConfig"]
    assert notify == {
        "SuccessTopic": env["INFERENCE_SUCCESS_TOPIC_ARN"],
        "ErrorTopic": env["INFERENCE_ERROR_TOPIC_ARN"],
    }

    aas = boto3.client("application-autoscaling")
    [target] = aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        f"endpoint/{endpoint}/variant/main",
        0,
        2,
    )
    policies = {
        p["PolicyName"]: p for p in aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    }
    backlog = policies[f"{endpoint}-backlog"]["TargetTrackingScalingPolicyConfiguration"]
    assert backlog["CustomizedMetricSpecification"]["MetricName"] == "ApproximateBacklogSizePerInstance"
    assert backlog["TargetValue"] == 5.0
    [alarm] = boto3.client("cloudwatch").describe_alarms(AlarmNames=[f"{endpoint}-has-backlog"])["MetricAlarms"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["AlarmActions"] == [policies[f"{endpoint}-wake"]["PolicyARN"]]

    status, listed = call("GET", "/endpoints")
    assert status == 200 and [e["name"] for e in listed["endpoints"]] == ["default"]

    assert call("DELETE", "/endpoints/default") == (200, {"name": "default", "deleted": True})
    assert aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert boto3.client("cloudwatch").describe_alarms(AlarmNames=[f"{endpoint}-has-backlog"])["MetricAlarms"] == []
    assert call("GET", "/endpoints")[1]["endpoints"] == []
    status, missing = call("DELETE", "/endpoints/default")
    assert status == 404 and "GET /endpoints" in missing["message"]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"instance_type": "ml.t2.medium"}, "instance_type must be one of"),
        ({"min_instances": 3, "max_instances": 2}, "min_instances <= max_instances"),
        ({"name": "Bad_Name"}, "name:"),
    ],
)
def test_bad_requests_say_what_to_fix(api, body, fragment):
    call, _ = api
    status, answer = call("POST", "/endpoints", body)
    assert status == 400 and fragment in answer["message"]


def test_without_job_image_endpoints_cannot_be_created(api, monkeypatch):
    call, _ = api
    monkeypatch.setenv("JOB_IMAGE_URI", "")
    status, answer = call("POST", "/endpoints", {})
    assert status == 400 and "JobImageUri" in answer["message"]


def test_local_mode_has_one_local_endpoint_and_refuses_changes(api_server):
    listed = httpx.get(f"{api_server.url}/endpoints", headers=AUTH)
    assert listed.status_code == 200
    assert listed.json() == {
        "endpoints": [
            {
                "name": "local",
                "status": "InService",
                "instance_type": "local",
                "min_instances": 1,
                "max_instances": 1,
                "current_instances": 1,
            }
        ],
        "mode": "local",
    }
    for response in (
        httpx.post(f"{api_server.url}/endpoints", headers=AUTH, json={"max_instances": 2}),
        httpx.delete(f"{api_server.url}/endpoints/local", headers=AUTH),
    ):
        assert response.status_code == 400 and "not available in local mode" in response.json()["message"]
