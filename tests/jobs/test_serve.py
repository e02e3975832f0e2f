"""The SageMaker serving contract over real HTTP on loopback: /ping and /invocations."""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from sdaws_jobs.pngmeta import spec_fields

pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_sd, tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    (root / "Stable-diffusion").mkdir()
    (root / "Stable-diffusion" / "tiny-sd").symlink_to(tiny_sd, target_is_directory=True)
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "sdaws_jobs.serve", "--host", "127.0.0.1", "--port", str(port),
                             "--models", str(root)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):  # readiness poll, not a timing assertion
        try:
            urllib.request.urlopen(url + "/ping", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stderr.read().decode())
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _post(url: str, body) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url + "/invocations", data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _png(item) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(item["png_b64"])))


PARAMS = {"prompt": "a lighthouse", "model": "tiny-sd", "steps": 2, "width": 32, "height": 24, "seed": 77,
          "batch_size": 2}


def test_ping(server):
    with urllib.request.urlopen(server + "/ping") as response:
        assert response.status == 200


def test_txt2img_invocation_and_same_seed_same_pixels(server):
    status, body = _post(server, {"kind": "txt2img", "params": PARAMS})
    assert status == 200, body
    assert [i["seed"] for i in body["images"]] == [77, 78]
    first = _png(body["images"][0])
    assert first.size == (32, 24)
    assert spec_fields(first.info["parameters"])["seed"] == 77
    status, again = _post(server, {"params": PARAMS})  # kind defaults to txt2img
    assert status == 200
    assert np.array_equal(np.asarray(first), np.asarray(_png(again["images"][0])))


def test_img2img_invocation(server):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, format="PNG")
    body = {"kind": "img2img", "params": {**PARAMS, "batch_size": 1, "denoising_strength": 0.6, "height": 32},
            "init_image_b64": base64.b64encode(buffer.getvalue()).decode()}
    status, result = _post(server, body)
    assert status == 200, result
    assert _png(result["images"][0]).size == (32, 32)


@pytest.mark.parametrize(("body", "needle"), [
    (b"{not json", "Expecting"),
    ({"params": {**PARAMS, "steps": 0}}, "steps"),
    ({"kind": "train", "params": PARAMS}, "kind"),
    ({"kind": "img2img", "params": PARAMS}, "init_image_b64"),
    ({"params": {**PARAMS, "model": "missing"}}, "missing"),
])
def test_bad_requests_get_400_with_a_message(server, body, needle):
    status, result = _post(server, body)
    assert status == 400 and needle in result["error"], result


def test_unknown_route_is_404(server):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server + "/nope")
    assert info.value.code == 404
