"""Fixtures: the real local server on loopback, and the Lambda app over moto."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.support.moto_env import use_fake_aws
from tests.support.template_tables import create_api_world

TOKEN = "test-token-0123456789abcdef"
AUTH = {"x-api-key": TOKEN}


@pytest.fixture
def api_server(tmp_path):
    from sam_app.local_server.server import serve_in_thread

    handle = serve_in_thread(tmp_path / "models", tmp_path / "data", TOKEN, part_size=1024 * 1024)
    yield handle
    handle.stop()


@pytest.fixture
def aws_env(monkeypatch):
    """Env for the Lambda handler over moto: bucket, tables from template.yaml, API key."""
    use_fake_aws(monkeypatch)
    with mock_aws():
        world = create_api_world(boto3.client("s3"), boto3.client("dynamodb"), boto3.client("apigateway"), TOKEN)
        env = world | {"SDAWS_MODE": "aws", "MAX_UPLOAD_BYTES": str(50 * 1024**3)}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield env


@pytest.fixture
def lambda_handler(aws_env):
    """The real Lambda entrypoint, rebuilt for this moto world."""
    import sam_app.handlers.api as api

    api._dispatcher = None
    yield api.handler
    api._dispatcher = None


class FakeLambdaContext:
    function_name = "sdaws-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:sdaws-api"
    aws_request_id = "req-1"


def proxy_event(
    method: str, path: str, headers: dict | None = None, query: dict | None = None, body: str | None = None
) -> dict:
    from sam_app.local_server.server import to_event

    raw = path
    if query:
        from urllib.parse import urlencode

        raw = f"{path}?{urlencode(query)}"
    multi = {k: [v] for k, v in (headers or {}).items()}
    return to_event(method, raw, multi, (body or "").encode(), "127.0.0.1")
