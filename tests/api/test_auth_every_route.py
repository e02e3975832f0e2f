"""Every route in the committed OpenAPI document refuses a missing and a wrong token.

The routes are read from sam_app/openapi.json, so a new route is covered the moment
it is documented; and the OpenAPI freshness test makes sure it is documented.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from tests.support.api_world import FakeLambdaContext, proxy_event
from tests.support.env import REPO_ROOT

OPENAPI = json.loads((REPO_ROOT / "sam_app" / "openapi.json").read_text())
ROUTES = sorted(
    (method.upper(), path)
    for path, item in OPENAPI["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
)
SAMPLE_PARAM = "0123456789abcdef0123456789abcdef"


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", SAMPLE_PARAM, path)


def test_the_document_lists_the_core_routes():
    assert ("GET", "/ping") in ROUTES and ("POST", "/uploads") in ROUTES
    assert len(ROUTES) >= 9


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("headers,status", [({}, 401), ({"x-api-key": "wrong-token"}, 403)], ids=["missing", "wrong"])
def test_local_server_refuses(api_server, method, path, headers, status):
    resp = requests.request(method, f"{api_server.url}{concrete(path)}", headers=headers, json={})
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == {401: "unauthorized", 403: "forbidden"}[status]


@pytest.mark.parametrize("method,path", ROUTES)
@pytest.mark.parametrize("headers,status", [({}, 401), ({"x-api-key": "wrong-token"}, 403)], ids=["missing", "wrong"])
def test_lambda_handler_refuses(lambda_handler, method, path, headers, status):
    result = lambda_handler(proxy_event(method, concrete(path), headers, body="{}"), FakeLambdaContext())
    assert result["statusCode"] == status, result["body"]
