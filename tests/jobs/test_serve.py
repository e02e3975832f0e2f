"""The SageMaker serving contract over real HTTP on loopback: /ping and /invocations."""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from sdaws_jobs.pngmeta import spec_fields
from tests.support.moto_env import FAKE_CREDENTIALS
from tests.support.serve_process import free_port, serve_process

pytestmark = [pytest.mark.torch, pytest.mark.slow]


AWS_ENV = FAKE_CREDENTIALS


@pytest.fixture(scope="module")
def s3(tiny_sd):
    """moto's S3 over real HTTP, holding the tiny model as a converted folder."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        **{k.lower(): v for k, v in AWS_ENV.items() if k != "AWS_DEFAULT_REGION"},
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="models")
    for path in tiny_sd.rglob("*"):
        if path.is_file():
            client.upload_file(str(path), "models", f"diffusers/tiny-sd/{path.relative_to(tiny_sd).as_posix()}")
    yield endpoint, client
    moto.stop()


@pytest.fixture(scope="module")
def server(tiny_sd, s3, tmp_path_factory):
    root = tmp_path_factory.mktemp("tree")
    (root / "Stable-diffusion").mkdir()
    (root / "Stable-diffusion" / "tiny-sd").symlink_to(tiny_sd, target_is_directory=True)
    env = {**os.environ, **AWS_ENV, "HF_HUB_OFFLINE": "1", "AWS_ENDPOINT_URL": s3[0]}
    log = root.parent / "serve.log"
    with open(log, "wb") as out, serve_process(root, env, out, log.read_text) as url:
        yield url


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


PARAMS = {
    "prompt": "a lighthouse",
    "model": "tiny-sd",
    "steps": 2,
    "width": 32,
    "height": 24,
    "seed": 77,
    "batch_size": 2,
}


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
    body = {
        "kind": "img2img",
        "params": {**PARAMS, "batch_size": 1, "denoising_strength": 0.6, "height": 32},
        "init_image_b64": base64.b64encode(buffer.getvalue()).decode(),
    }
    status, result = _post(server, body)
    assert status == 200, result
    assert _png(result["images"][0]).size == (32, 32)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "Expecting"),
        ({"params": {**PARAMS, "steps": 0}}, "steps"),
        ({"kind": "train", "params": PARAMS}, "kind"),
        ({"kind": "img2img", "params": PARAMS}, "init_image_b64"),
        ({"params": {**PARAMS, "model": "missing"}}, "missing"),
    ],
)
def test_bad_requests_get_400_with_a_message(server, body, needle):
    status, result = _post(server, body)
    assert status == 400 and needle in result["error"], result


def test_unknown_route_is_404(server):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server + "/nope")
    assert info.value.code == 404


def test_job_request_stages_inputs_from_s3_and_uploads_outputs(server, s3):
    _, client = s3
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(buffer, format="PNG")
    client.put_object(Bucket="models", Key="job-inputs/g1/src.png", Body=buffer.getvalue())
    request = {
        "job_id": "j1",
        "kind": "img2img",
        "spec": {**PARAMS, "model": "tiny-sd", "init_image": "src.png", "height": 32, "denoising_strength": 0.5},
        "inputs": [
            {"channel": "model", "uri": "s3://models/diffusers/tiny-sd", "folder": True},
            {"channel": "init_image", "uri": "s3://models/job-inputs/g1/src.png", "folder": False},
        ],
        "output": "s3://models/jobs/j1/output/",
    }
    for _ in range(2):  # the second request finds the model in the instance cache
        status, body = _post(server, request)
        assert status == 200, body
    assert [o["seed"] for o in body["outputs"]] == [77, 78]
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="models", Prefix="jobs/j1/output/")["Contents"])
    assert keys == ["jobs/j1/output/images/00000-77.png", "jobs/j1/output/images/00001-78.png"]
    png = client.get_object(Bucket="models", Key=keys[0])["Body"].read()
    assert spec_fields(Image.open(io.BytesIO(png)).info["parameters"])["denoising_strength"] == 0.5


def test_job_request_with_a_missing_spec_is_400(server):
    status, body = _post(server, {"spec": "nope", "kind": "txt2img"})
    assert status == 400 and "spec" in body["error"]


def test_job_request_uploads_live_previews_next_to_the_outputs(server, s3):
    _, client = s3
    request = {
        "job_id": "j2",
        "kind": "txt2img",
        "spec": {**PARAMS, "batch_size": 1, "preview_every": 1},
        "inputs": [{"channel": "model", "uri": "s3://models/diffusers/tiny-sd", "folder": True}],
        "output": "s3://models/jobs/j2/output/",
    }
    status, body = _post(server, request)
    assert status == 200, body
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket="models", Prefix="jobs/j2/output/")["Contents"])
    # Each preview is put the moment it is written (the client polls the prefix while the job runs).
    assert keys == [
        "jobs/j2/output/images/00000-77.png",
        "jobs/j2/output/previews/00000-step-0001.png",
        "jobs/j2/output/previews/00000-step-0002.png",
    ]
