"""GET/POST/DELETE /endpoints through the real Lambda handler over moto, the endpoint
events handler with the events SageMaker sends, and the local server's one endpoint.

moto makes endpoints InService at once and lacks UpdateEndpoint; `endpoint_lifecycle`
(tests/support/moto_endpoints.py) keeps them Creating/Updating until the test plays
SageMaker finishing the deployment.
"""

from __future__ import annotations

import boto3
import httpx
import pytest

from sam_app.adapters.aws.sagemaker_endpoints import INFERENCE_AMI_VERSION
from sam_app.core.endpoints import LocalEndpoints
from tests.support.api_world import AUTH
from tests.support.compute_api import ENDPOINT


@pytest.fixture
def api(compute_api):
    return compute_api


def scalable_targets():
    return boto3.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]


def policies():
    found = boto3.client("application-autoscaling").describe_scaling_policies(ServiceNamespace="sagemaker")
    return {p["PolicyName"]: p for p in found["ScalingPolicies"]}


def test_scaling_is_applied_when_the_endpoint_reports_in_service_not_when_someone_lists(
    api, endpoint_events, endpoint_lifecycle
):
    call, env = api
    assert call("GET", "/endpoints") == (200, {"endpoints": [], "mode": "aws"})
    status, created = call(
        "POST", "/endpoints", {"instance_type": "ml.g4dn.xlarge", "min_instances": 0, "max_instances": 2}
    )
    assert status == 200, created
    assert created["status"] == "Creating" and created["scaling_applied"] is False
    # Listing while it starts (what the TUI does) changes nothing.
    assert call("GET", "/endpoints")[1]["endpoints"][0]["status"] == "Creating"
    assert scalable_targets() == []

    answer = endpoint_events(endpoint_lifecycle.finish(ENDPOINT))
    assert answer["status"] == "InService"

    [target] = scalable_targets()
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        f"endpoint/{ENDPOINT}/variant/main",
        0,
        2,
    )
    backlog = policies()[f"{ENDPOINT}-backlog"]["TargetTrackingScalingPolicyConfiguration"]
    assert backlog["CustomizedMetricSpecification"]["MetricName"] == "ApproximateBacklogSizePerInstance"
    assert backlog["TargetValue"] == 5.0
    [alarm] = boto3.client("cloudwatch").describe_alarms(AlarmNames=[f"{ENDPOINT}-has-backlog"])["MetricAlarms"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert alarm["AlarmActions"] == [policies()[f"{ENDPOINT}-wake"]["PolicyARN"]]
    status, listed = call("GET", "/endpoints")
    assert status == 200 and listed["endpoints"][0] | {"current_instances": None} == {
        "name": "default",
        "status": "InService",
        "instance_type": "ml.g4dn.xlarge",
        "min_instances": 0,
        "max_instances": 2,
        "current_instances": None,
        "scaling_applied": True,
    }
    assert endpoint_events(endpoint_lifecycle.finish(ENDPOINT))["status"] == "InService"  # a repeated event
    assert len(scalable_targets()) == 1


def test_gpu_variants_select_an_inference_ami_whose_driver_fits_the_image(api):
    call, env = api
    assert call("POST", "/endpoints", {"instance_type": "ml.g4dn.xlarge"})[0] == 200
    sm = boto3.client("sagemaker")
    config = sm.describe_endpoint_config(
        EndpointConfigName=sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    )
    [variant] = config["ProductionVariants"]
    # The default AMI of g4dn/g5 has driver 470 (CUDA 11.4); the image's torch needs 12.x.
    assert variant["InferenceAmiVersion"] == INFERENCE_AMI_VERSION == "al2023-ami-sagemaker-inference-gpu-4-1"
    model = sm.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["Environment"]["SDAWS_INSTANCE_TYPE"] == "ml.g4dn.xlarge"
    notify = config["AsyncInferenceConfig"]["OutputConfig"]["NotificationConfig"]
    assert notify == {
        "SuccessTopic": env["INFERENCE_SUCCESS_TOPIC_ARN"],
        "ErrorTopic": env["INFERENCE_ERROR_TOPIC_ARN"],
    }


def test_a_new_instance_type_deregisters_updates_reregisters_and_cleans_up(api, endpoint_events, endpoint_lifecycle):
    call, _ = api
    sm = boto3.client("sagemaker")
    call("POST", "/endpoints", {"instance_type": "ml.g4dn.xlarge", "min_instances": 0, "max_instances": 1})
    endpoint_events(endpoint_lifecycle.finish(ENDPOINT))
    first_config = sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    assert len(scalable_targets()) == 1

    status, resized = call(
        "POST", "/endpoints", {"instance_type": "ml.g4dn.2xlarge", "min_instances": 1, "max_instances": 3}
    )
    assert status == 200, resized
    # SageMaker refuses a new instance type on a registered variant: deregistered first.
    assert scalable_targets() == []
    assert resized["status"] == "Updating"
    assert call("POST", "/endpoints", {"instance_type": "ml.g4dn.xlarge"})[0] == 409  # not while updating

    endpoint_events(endpoint_lifecycle.finish(ENDPOINT))
    [target] = scalable_targets()
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
    assert f"{ENDPOINT}-wake" not in policies()  # min 1: no wake-up policy
    current = sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"]
    configs = [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    models = [m["ModelName"] for m in sm.list_models()["Models"]]
    assert current != first_config and configs == [current] and models == [current]
    assert call("GET", "/endpoints")[1]["endpoints"][0]["instance_type"] == "ml.g4dn.2xlarge"


def test_new_scaling_on_the_same_instance_type_applies_at_once(api, endpoint_events, endpoint_lifecycle):
    call, _ = api
    call("POST", "/endpoints", {"min_instances": 0, "max_instances": 1})
    endpoint_events(endpoint_lifecycle.finish(ENDPOINT))
    status, scaled = call("POST", "/endpoints", {"min_instances": 0, "max_instances": 4, "target_backlog": 2})
    assert status == 200 and scaled["status"] == "InService" and scaled["scaling_applied"] is True
    [target] = scalable_targets()
    assert target["MaxCapacity"] == 4
    assert len(boto3.client("sagemaker").list_endpoint_configs()["EndpointConfigs"]) == 1


def test_a_failed_endpoint_answers_409_with_what_to_do(api, endpoint_events, endpoint_lifecycle):
    call, _ = api
    call("POST", "/endpoints", {})
    endpoint_events(endpoint_lifecycle.finish(ENDPOINT, "Failed", "CUDA driver too old"))
    status, answer = call("POST", "/endpoints", {"max_instances": 2})
    assert status == 409 and "CUDA driver too old" in answer["message"] and "endpoints rm default" in answer["message"]


def test_delete_removes_scaling_alarm_configs_and_models(api, endpoint_events, endpoint_lifecycle):
    call, _ = api
    sm = boto3.client("sagemaker")
    call("POST", "/endpoints", {"min_instances": 0, "max_instances": 2})
    endpoint_events(endpoint_lifecycle.finish(ENDPOINT))
    assert call("DELETE", "/endpoints/default") == (200, {"name": "default", "deleted": True})
    assert scalable_targets() == []
    assert boto3.client("cloudwatch").describe_alarms(AlarmNames=[f"{ENDPOINT}-has-backlog"])["MetricAlarms"] == []
    assert sm.list_endpoint_configs()["EndpointConfigs"] == [] and sm.list_models()["Models"] == []
    assert call("GET", "/endpoints")[1]["endpoints"] == []
    status, missing = call("DELETE", "/endpoints/default")
    assert status == 404 and "GET /endpoints" in missing["message"]


def test_events_of_other_endpoints_are_ignored(api, endpoint_events):
    from tests.support.moto_endpoints import endpoint_event

    assert "ignored" in endpoint_events(endpoint_event("someone-else", "InService", "c"))
    assert "ignored" in endpoint_events(
        {"source": "aws.sagemaker", "detail-type": "SageMaker Training Job State Change"}
    )


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"instance_type": "ml.t2.medium"}, "instance_type must be one of"),
        ({"instance_type": "ml.p3.2xlarge"}, "instance_type must be one of"),
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
    body = listed.json()
    assert body == {"endpoints": [{**LocalEndpoints.ENDPOINT, "scaling_applied": None}], "mode": "local"}
    (endpoint,) = body["endpoints"]  # the machine itself: one instance, always in service
    assert (endpoint["name"], endpoint["status"], endpoint["instance_type"]) == ("local", "InService", "local")
    assert endpoint["min_instances"] == endpoint["max_instances"] == endpoint["current_instances"] == 1
    for response in (
        httpx.post(f"{api_server.url}/endpoints", headers=AUTH, json={"max_instances": 2}),
        httpx.delete(f"{api_server.url}/endpoints/local", headers=AUTH),
    ):
        assert response.status_code == 400 and "not available in local mode" in response.json()["message"]
