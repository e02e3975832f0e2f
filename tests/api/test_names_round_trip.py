"""Model names with spaces, brackets and non-ASCII letters round-trip through the client,
the CLI, the API (both worlds) and the S3 keys: path parameters arrive percent-encoded
and are decoded once, at the edge (sam_app/api/dispatch.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdaws.client.api import ApiClient, ApiError, NotFound
from sdaws.client.uploader import UploadState, upload_file
from tests.support.api_world import TOKEN
from tests.support.env import REPO_ROOT
from tests.support.gateway import GatewayServer

NAME = "my model [v2] — café.safetensors"
SDAWS = str(Path(sys.executable).parent / "sdaws")


@pytest.fixture
def aws_world(moto_http_world):
    handler, s3 = moto_http_world
    gateway = GatewayServer(handler)
    client = ApiClient(gateway.url, TOKEN)
    yield client, gateway.url, lambda: [o["Key"] for o in s3.list_objects_v2(Bucket="sdaws-models").get("Contents", [])]
    client.close()
    gateway.stop()


@pytest.fixture
def local_world(tmp_path):
    from sam_app.local_server.server import serve_in_thread

    handle = serve_in_thread(tmp_path / "models", tmp_path / "data", TOKEN, part_size=1024 * 1024)
    client = ApiClient(handle.url, TOKEN)
    root = tmp_path / "models"
    yield client, handle.url, lambda: sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    client.close()
    handle.stop()


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'containers'}"}
    return subprocess.run(
        [SDAWS, *args, "--api", url, "--token", TOKEN], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize("world", ["aws_world", "local_world"])
def test_a_name_with_spaces_brackets_and_accents_round_trips(world, request, tmp_path):
    client, url, stored_keys = request.getfixturevalue(world)
    source = tmp_path / NAME
    source.write_bytes(os.urandom(4096))
    upload_file(client, source, "Lora", state=UploadState(tmp_path / "uploads.json"))

    assert f"Lora/{NAME}" in stored_keys()  # the key is the name, not an encoding of it
    assert [m["name"] for m in client.list_models("Lora")["items"]] == [NAME]
    assert client.model_info("Lora", NAME)["size"] == 4096

    shown = _cli(url, "models", "info", f"Lora/{NAME}", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["name"] == NAME

    client.delete_model("Lora", NAME)
    with pytest.raises(NotFound):
        client.model_info("Lora", NAME)
    assert f"Lora/{NAME}" not in stored_keys()


@pytest.mark.parametrize("world", ["aws_world", "local_world"])
def test_an_encoded_slash_never_reaches_another_folder(world, request):
    client, _, _ = request.getfixturevalue(world)
    with pytest.raises(ApiError) as refused:
        client.request("GET", "models/Lora/..%2F..%2FStable-diffusion%2Fx.safetensors")
    assert refused.value.status == 400 and "plain file name" in refused.value.message
