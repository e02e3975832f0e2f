"""Calling the real API Lambda handler in-process, as API Gateway would, for tests that
drive a job world (tests/support/sagemaker_world.py) without a client."""

from __future__ import annotations

import json

from tests.support.api_world import AUTH, FakeLambdaContext, proxy_event


def api_call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    import sam_app.handlers.api as api

    event = proxy_event(
        method, path, AUTH | {"content-type": "application/json"}, body=json.dumps(body) if body else None
    )
    response = api.handler(event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def fresh_api() -> None:
    """The next call builds the API's services from the environment as it is now."""
    import sam_app.handlers.api as api

    api._dispatcher = None
