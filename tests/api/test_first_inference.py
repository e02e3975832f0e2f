"""The first txt2img on a fresh stack: the API creates the default endpoint, the job shows
that it waits for it, and the endpoint's InService event sends it on. A job the endpoint
could not finish within SageMaker's 3,600 s is refused with the reason; an endpoint that
cannot take jobs answers 409 with what to do, never 500."""

from __future__ import annotations

import boto3
import pytest

from sam_app.adapters.aws.dynamo_jobs import DynamoJobRecords
from tests.support.aws_calls import made_in_this_test
from tests.support.compute_api import ENDPOINT

TXT2IMG = {"kind": "txt2img", "params": {"prompt": "a cat", "model": "base", "steps": 20}}


@pytest.fixture
def api(compute_api):
    call, env = compute_api
    boto3.client("s3").put_object(Bucket=env["MODELS_BUCKET"], Key="diffusers/base/model_index.json", Body=b"{}")
    return call, DynamoJobRecords(boto3.resource("dynamodb").Table(env["JOBS_TABLE"]))


def test_the_first_txt2img_creates_the_endpoint_waits_for_it_then_runs(api, endpoint_events, endpoint_lifecycle):
    call, records = api
    status, job = call("POST", "/jobs", TXT2IMG)
    assert status == 201, job
    shown = call("GET", f"/jobs/{job['job_id']}")[1]
    assert shown["status"] == "STARTING"
    assert shown["progress"]["message"] == "endpoint default starting (cold start ~10 min)"
    assert endpoint_lifecycle.status(ENDPOINT) == "Creating"
    assert made_in_this_test("sagemaker-runtime", "InvokeEndpointAsync") == []  # nothing sent to a Creating endpoint
    assert records.waiting_for(ENDPOINT) == [job["job_id"]]

    answer = endpoint_events(endpoint_lifecycle.finish(ENDPOINT))
    assert answer["started"] == [job["job_id"]]
    [sent] = made_in_this_test("sagemaker-runtime", "InvokeEndpointAsync")
    assert sent["InferenceId"] == job["job_id"] and sent["InputLocation"].endswith(f"jobs/{job['job_id']}/request.json")
    assert records.waiting_for(ENDPOINT) == []
    shown = call("GET", f"/jobs/{job['job_id']}")[1]
    assert shown["status"] == "STARTING" and shown["progress"]["message"] == "sent to endpoint sdaws-test-default"
    assert endpoint_events(endpoint_lifecycle.finish(ENDPOINT))["started"] == []  # a repeated event sends nothing twice


def test_jobs_for_an_endpoint_scaled_to_zero_say_it_wakes_up(api, endpoint_events, endpoint_lifecycle):
    call, _ = api
    assert call("POST", "/endpoints", {"min_instances": 0})[0] == 200
    endpoint_events(endpoint_lifecycle.finish(ENDPOINT))
    endpoint_lifecycle.scale_to(ENDPOINT, 0)
    status, job = call("POST", "/jobs", TXT2IMG)
    shown = call("GET", f"/jobs/{job['job_id']}")[1]
    assert status == 201 and shown["progress"]["message"] == "endpoint default scaling up from zero (~7 min)"
    assert len(made_in_this_test("sagemaker-runtime", "InvokeEndpointAsync")) == 1  # queued at SageMaker at once


def test_a_failed_endpoint_fails_its_waiting_jobs_and_later_ones_get_409(api, endpoint_events, endpoint_lifecycle):
    call, _ = api
    job = call("POST", "/jobs", TXT2IMG)[1]
    endpoint_events(endpoint_lifecycle.finish(ENDPOINT, "Failed", "insufficient capacity for ml.g4dn.xlarge"))
    failed = call("GET", f"/jobs/{job['job_id']}")[1]
    assert failed["status"] == "FAILED" and "insufficient capacity" in failed["error"]
    status, answer = call("POST", "/jobs", TXT2IMG)
    assert status == 409, answer
    assert "insufficient capacity" in answer["message"] and "sdaws endpoints rm default" in answer["message"]


@pytest.mark.parametrize(
    "params, timeout",
    # 240 s to load + 0.15 s per 512x512 step (slower per pixel above), doubled, 900..3600 s.
    [({"steps": 20}, 900), ({"steps": 50, "batch_count": 8, "batch_size": 4, "width": 768, "height": 768}, 1751)],
)
def test_the_invocation_timeout_follows_the_work_asked_for(api, endpoint_events, endpoint_lifecycle, params, timeout):
    call, _ = api
    call("POST", "/endpoints", {})
    endpoint_events(endpoint_lifecycle.finish(ENDPOINT))
    status, job = call("POST", "/jobs", {"kind": "txt2img", "params": TXT2IMG["params"] | params})
    assert status == 201, job
    [sent] = made_in_this_test("sagemaker-runtime", "InvokeEndpointAsync")
    assert sent["InvocationTimeoutSeconds"] == timeout


def test_a_request_that_cannot_finish_within_an_hour_is_refused_with_the_reason(api):
    call, _ = api
    # Within the API's own bound on work per job, past what one async request may take.
    huge = TXT2IMG["params"] | {"steps": 60, "batch_count": 10, "batch_size": 8, "width": 1024, "height": 1024}
    status, answer = call("POST", "/jobs", {"kind": "txt2img", "params": huge})
    assert status == 400, answer
    assert "60 min SageMaker allows one async request" in answer["message"] and "split" in answer["message"]
    assert made_in_this_test("sagemaker", "CreateEndpoint") == []  # refused before anything was started
