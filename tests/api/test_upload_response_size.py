"""POST /uploads answers with every part's presigned URL in one Lambda response, which
may not pass 6 MB: MaxUploadBytes is capped so the largest allowed upload still fits,
with URLs signed by temporary credentials (a Lambda role's session token is in each)."""

from __future__ import annotations

import json

import pytest

from tests.support.api_world import AUTH, FakeLambdaContext, proxy_event
from tests.support.template_tables import load_template

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024
MAX_UPLOAD = int(load_template()["Parameters"]["MaxUploadBytes"]["MaxValue"])
SESSION_TOKEN = "IQoJb3JpZ2luX2VjE" + "x" * 1383  # 1,400 characters, longer than Lambda's


@pytest.fixture
def handler(aws_env, lambda_handler, monkeypatch):
    monkeypatch.setenv("MAX_UPLOAD_BYTES", str(MAX_UPLOAD))
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # credentials are read once per session
    return lambda_handler


def _create(handler, size: int) -> dict:
    body = json.dumps({"type": "Stable-diffusion", "filename": "huge.safetensors", "size": size})
    return handler(
        proxy_event("POST", "/uploads", AUTH | {"content-type": "application/json"}, body=body), FakeLambdaContext()
    )


def test_the_largest_allowed_upload_answers_within_lambdas_response_limit(handler):
    response = _create(handler, MAX_UPLOAD)
    assert response["statusCode"] == 201, response["body"][:500]
    created = json.loads(response["body"])
    assert SESSION_TOKEN in created["parts"][0]["url"]  # each URL carries the token
    assert len(json.dumps(response).encode()) < LAMBDA_RESPONSE_LIMIT


def test_one_byte_more_is_refused_with_the_limit(handler):
    response = _create(handler, MAX_UPLOAD + 1)
    assert response["statusCode"] == 400 and str(MAX_UPLOAD) in response["body"]
