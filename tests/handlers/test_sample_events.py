"""Every API event in events/ is one the real handler accepts (so `sam local invoke -e` works).

Run in-process against moto with the API key the events carry; an event that rots
(wrong shape, stale route, stale params) fails here.
"""

from __future__ import annotations

import json

import boto3
import pytest

from tests.support import deployed
from tests.support.api_world import FakeLambdaContext
from tests.support.compute_api import compute_env
from tests.support.env import REPO_ROOT

EVENTS = sorted((REPO_ROOT / "events").glob("api_*.json"))
EVENTS_TOKEN = "sdaws-events-token-0123456789"


@pytest.fixture
def handler_for_events(aws_env, monkeypatch):
    key = boto3.client("apigateway").create_api_key(name="events", value=EVENTS_TOKEN, enabled=True)
    deployed.register_api_key("ApiKey", key["id"])
    monkeypatch.setenv("API_KEY_ID", key["id"])
    compute_env(monkeypatch)  # a stack with a job image: the job routes are live
    s3 = boto3.client("s3")
    for key in ("Stable-diffusion/a.safetensors", "Stable-diffusion/b.safetensors"):  # what api_submit_job merges
        s3.put_object(Bucket=aws_env["MODELS_BUCKET"], Key=key, Body=b"\0" * 64)
    import sam_app.handlers.api as api

    api._dispatcher = None
    yield api.handler
    api._dispatcher = None


def test_there_is_an_event_per_route_family():
    families = {json.loads(p.read_text())["resource"].strip("/").split("/")[0] for p in EVENTS}
    documented = {
        path.strip("/").split("/")[0]
        for path in json.loads((REPO_ROOT / "sam_app" / "openapi.json").read_text())["paths"]
    }
    assert documented - {"job-inputs", "endpoints"} <= families


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_event_is_authorised_and_well_formed(handler_for_events, path):
    event = json.loads(path.read_text())
    response = handler_for_events(event, FakeLambdaContext())
    body = json.loads(response["body"])
    # 404 is fine for ids/models that do not exist in an empty world; anything else
    # in 4xx means the event itself is wrong.
    assert response["statusCode"] in (200, 201, 404), body
