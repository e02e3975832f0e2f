"""API Gateway answers some requests itself, before the function runs: 403 "Forbidden"
for a missing or wrong key, 403 "Missing Authentication Token" for a path or stage it
does not have. The client says which one it is, and what to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdaws.client.api import ApiClient, AuthError, WrongUrl
from tests.support.api_world import TOKEN
from tests.support.env import REPO_ROOT
from tests.support.gateway import GatewayServer

SDAWS = str(Path(sys.executable).parent / "sdaws")


@pytest.fixture
def gateway(moto_http_world):
    handler, _ = moto_http_world
    server = GatewayServer(handler, stage="v1", api_key=TOKEN)
    yield server
    server.stop()


def test_the_right_url_and_key_reach_the_api(gateway):
    with ApiClient(f"{gateway.url}/v1", TOKEN) as client:
        assert client.ping()["mode"] == "aws"


def test_a_wrong_key_is_refused_by_api_gateway_and_the_client_says_so(gateway):
    with ApiClient(f"{gateway.url}/v1", "wrong-token-0123456789") as client, pytest.raises(AuthError) as refused:
        client.ping()
    assert refused.value.status == 403
    assert "API Gateway refused the API token (403 Forbidden)" in str(refused.value) and "TokenHowTo" in str(
        refused.value
    )


@pytest.mark.parametrize("base, path", [("", "ping"), ("/v1", "no-such-route"), ("/prod", "ping")])
def test_a_url_without_the_stage_or_a_wrong_route_says_check_the_url(gateway, base, path):
    with ApiClient(f"{gateway.url}{base}", TOKEN) as client, pytest.raises(WrongUrl) as wrong:
        client.request("GET", path)
    assert "403 Missing Authentication Token" in str(wrong.value) and "include the stage" in str(wrong.value)


def test_the_cli_prints_the_reason_in_one_line_with_exit_1(gateway):
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'containers'}"}
    result = subprocess.run(
        [SDAWS, "models", "ls", "--api", gateway.url, "--token", TOKEN],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "403 Missing Authentication Token" in result.stderr and "/v1" in result.stderr


def test_openapi_documents_api_gateways_own_403s():
    spec = json.loads((REPO_ROOT / "sam_app" / "openapi.json").read_text())
    described = [
        r["403"]["description"]
        for path in spec["paths"].values()
        for r in (op.get("responses", {}) for op in path.values())
    ]
    assert described and all('"Forbidden"' in d and '"Missing Authentication Token"' in d for d in described)
