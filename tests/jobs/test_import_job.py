"""The import job against a real HTTP server on loopback and an offline Hugging Face cache,
run as a runner runs it (a subprocess reading its workdir), locally and into moto's S3."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import threading

import pytest

from sdaws.contract.progress import parse_line
from sdaws_jobs.imports.secrets import hub_token, import_token
from tests.support.import_server import (
    ModelServer,
    Served,
    fill_hf_cache,
    import_argv,
    import_env,
    import_workdir,
    run_import,
)
from tests.support.moto_env import FAKE_CREDENTIALS, moto_over_http

MiB = 1024 * 1024
TOKEN = "civitai-key-SECRET-0123456789"


@pytest.fixture
def server():
    srv = ModelServer()
    yield srv
    srv.stop()


def _everything_visible(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_redirect_content_disposition_and_two_drops_resume_to_the_exact_bytes(tmp_path, server):
    data = os.urandom(6 * MiB + 123)
    server.files["/files/v1"] = Served(
        data, disposition="attachment; filename*=UTF-8''sks%20cat%20v1.safetensors", drops=[2 * MiB + 7, 1 * MiB]
    )
    server.redirects["/api/download/models/1"] = f"{server.url}/files/v1"
    spec = {
        "source": f"{server.url}/api/download/models/1",
        "type": "lora",
        "expected_sha256": hashlib.sha256(data).hexdigest(),
    }
    work = import_workdir(tmp_path / "job", spec)
    run = run_import(work)
    assert run.code == 0, run.stderr[-3000:]
    result = work / "output" / "Lora" / "sks cat v1.safetensors"
    assert result.read_bytes() == data
    [out] = run.outputs()
    assert out["file"] == "Lora/sks cat v1.safetensors" and out["sha256"] == hashlib.sha256(data).hexdigest()
    assert out["size"] == len(data) and out["type"] == "Lora"
    ranges = [r["headers"].get("Range") for r in server.requests if r["path"] == "/files/v1"]
    assert ranges == [None, f"bytes={2 * MiB + 7}-", f"bytes={3 * MiB + 7}-"]  # resumed from the last byte, twice
    assert all(
        r["headers"].get("If-Range") == server.files["/files/v1"].etag
        for r in server.requests[2:]
        if r["headers"].get("Range")
    )
    last = run.progress()[-1]
    assert last["bytes"] == last["total_bytes"] == len(data) and last["step"] == len(data)
    assert any(p.get("rate_bps") for p in run.progress()) and "MiB" in last["message"]
    assert _everything_visible(work / "output") == ["Lora/sks cat v1.safetensors"]  # no partial left


def test_a_wrong_expected_hash_leaves_nothing(tmp_path, server):
    server.files["/m.safetensors"] = Served(os.urandom(MiB))
    work = import_workdir(
        tmp_path / "job", {"source": f"{server.url}/m.safetensors", "type": "Lora", "expected_sha256": "0" * 64}
    )
    run = run_import(work)
    assert run.code == 2
    assert "nothing was kept" in run.events[-1]["message"] and run.events[-1]["event"] == "error"
    assert _everything_visible(work / "output") == []


def test_the_token_goes_only_to_its_origin_and_never_into_a_log(tmp_path):
    origin, storage = ModelServer(token=TOKEN), ModelServer()
    try:
        data = os.urandom(3 * MiB)
        # Civitai's way: the API (needs the key) redirects to presigned storage (must not see it).
        storage.files["/bucket/x.safetensors"] = Served(data, drops=[MiB])
        origin.redirects["/api/download/models/7"] = f"{storage.url}/bucket/x.safetensors?X-Amz-Signature=abc123"
        work = import_workdir(
            tmp_path / "job", {"source": f"{origin.url}/api/download/models/7", "type": "Stable-diffusion"}, token=TOKEN
        )
        run = run_import(work)
        assert run.code == 0, run.stderr[-3000:]
        assert (work / "output" / "Stable-diffusion" / "x.safetensors").read_bytes() == data
        assert all(r["headers"].get("Authorization") == f"Bearer {TOKEN}" for r in origin.requests)
        assert not any("Authorization" in r["headers"] for r in storage.requests)
        assert TOKEN not in run.stdout + run.stderr and "abc123" not in run.stdout + run.stderr
        spec_text = (work / "input" / "config" / "spec.json").read_text()
        assert TOKEN not in spec_text
    finally:
        origin.stop()
        storage.stop()


def test_without_the_token_the_error_says_what_to_do(tmp_path):
    origin = ModelServer(token=TOKEN)
    try:
        origin.files["/x.safetensors"] = Served(b"x")
        work = import_workdir(
            tmp_path / "job", {"source": f"{origin.url}/x.safetensors", "type": "Lora"}, token="wrong-" + TOKEN
        )
        run = run_import(work)
        assert run.code == 2 and "HTTP 401" in run.events[-1]["message"] and "token" in run.events[-1]["message"]
        assert TOKEN not in run.stdout + run.stderr
        assert _everything_visible(work / "output") == []
    finally:
        origin.stop()


def test_a_server_without_range_support_restarts_cleanly(tmp_path, server):
    data = os.urandom(3 * MiB)
    server.files["/plain/model.ckpt"] = Served(data, drops=[MiB], ignore_range=True)
    work = import_workdir(tmp_path / "job", {"source": f"{server.url}/plain/model.ckpt", "type": "Stable-diffusion"})
    run = run_import(work)
    assert run.code == 0, run.stderr[-3000:]
    assert (work / "output" / "Stable-diffusion" / "model.ckpt").read_bytes() == data
    assert "restarting" in run.stderr


@pytest.mark.parametrize(
    "path,needle",
    [("/missing.safetensors", "HTTP 404"), ("/bad.pt", "not supported")],
)
def test_bad_sources_fail_with_exit_2_and_leave_nothing(tmp_path, server, path, needle):
    server.files["/bad.pt"] = Served(b"pickle")
    work = import_workdir(tmp_path / "job", {"source": f"{server.url}{path}", "type": "Lora"})
    run = run_import(work)
    assert run.code == 2 and needle in run.events[-1]["message"]
    assert _everything_visible(work / "output") == []


def test_a_cancelled_import_leaves_nothing(tmp_path, server):
    server.files["/slow.safetensors"] = Served(os.urandom(4 * MiB), stall_after=3 * MiB)
    work = import_workdir(tmp_path / "job", {"source": f"{server.url}/slow.safetensors", "type": "Lora"})
    proc = subprocess.Popen(
        import_argv(work), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=import_env()
    )
    watchdog = threading.Timer(120, proc.kill)  # a hang fails the test instead of stalling the suite
    watchdog.start()
    try:
        for line in proc.stdout:  # wait until bytes are flowing (an event, not a timer)
            event = parse_line(line)
            if event and event["event"] == "progress" and event.get("bytes"):
                break
        assert any(p.name.endswith(".partial") for p in (work / "output" / "Lora").iterdir())
        proc.send_signal(signal.SIGTERM)  # what the local runner's cancel and SageMaker's stop send
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 1
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
    assert "cancelled" in [e for e in map(parse_line, rest.splitlines()) if e][-1]["message"]
    assert _everything_visible(work / "output") == []


def test_a_bad_spec_fails_before_any_request(tmp_path, server):
    work = import_workdir(tmp_path / "job", {"source": "http://example.com/x", "type": "Lora"})
    run = run_import(work)
    assert run.code == 2 and "invalid spec" in run.events[-1]["message"] and server.requests == []


# -- Hugging Face, from an offline cache the test fills --------------------------------------


def _hf_env(tmp_path):
    return {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hf"), "HF_API_TOKEN": "hf_SECRET_api_token"}


def test_hub_single_file_from_the_offline_cache(tmp_path):
    files = fill_hf_cache(tmp_path / "hf")
    work = import_workdir(
        tmp_path / "job", {"source": "org/tiny-pipe:v1-5-pruned.safetensors", "type": "Stable-diffusion"}
    )
    run = run_import(work, _hf_env(tmp_path))
    assert run.code == 0, run.stderr[-3000:]
    data = files["v1-5-pruned.safetensors"]
    assert (work / "output" / "Stable-diffusion" / "v1-5-pruned.safetensors").read_bytes() == data
    assert run.outputs()[0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert "hf_SECRET_api_token" not in run.stdout + run.stderr


def test_hub_diffusers_folder_from_the_offline_cache(tmp_path):
    files = fill_hf_cache(tmp_path / "hf")
    work = import_workdir(tmp_path / "job", {"source": "org/tiny-pipe", "type": "diffusers", "name": "tiny"})
    run = run_import(work, _hf_env(tmp_path))
    assert run.code == 0, run.stderr[-3000:]
    folder = work / "output" / "diffusers" / "tiny"
    assert _everything_visible(folder) == [
        "model_index.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
    ]
    assert (folder / "unet" / "diffusion_pytorch_model.safetensors").read_bytes() == files[
        "unet/diffusion_pytorch_model.safetensors"
    ]
    assert run.outputs()[0]["file"] == "diffusers/tiny" and run.outputs()[0]["files"] == 5


def test_hub_file_missing_offline_says_so(tmp_path):
    fill_hf_cache(tmp_path / "hf")
    work = import_workdir(tmp_path / "job", {"source": "org/tiny-pipe:nope.safetensors", "type": "Lora"})
    run = run_import(work, _hf_env(tmp_path))
    assert run.code == 2 and "not in the Hugging Face cache" in run.events[-1]["message"]
    assert not (work / "output").exists() or _everything_visible(work / "output") == []


def test_tokens_are_found_where_launchers_and_users_put_them(tmp_path):
    config = tmp_path
    assert import_token(config, {}) is None
    assert hub_token(config, {"HF_API_TOKEN": "b"}) == "b"
    assert hub_token(config, {"HF_TOKEN": "a", "HF_API_TOKEN": "b"}) == "a"
    (config / "import_token").write_text("file-token\n")
    assert import_token(config, {"SDAWS_IMPORT_TOKEN": "env"}) == "file-token"
    assert hub_token(config, {"HF_TOKEN": "a"}) == "file-token"


# -- AWS: straight into an S3 multipart upload (moto as a real HTTP server) -----------------------


@pytest.fixture
def moto_s3():
    with moto_over_http() as (endpoint, s3):
        s3.create_bucket(Bucket="sdaws-models")
        yield s3, FAKE_CREDENTIALS | {"AWS_ENDPOINT_URL": endpoint, "SDAWS_IMPORT_DESTINATION": "s3://sdaws-models"}


def test_into_s3_the_object_appears_only_whole_and_verified(tmp_path, server, moto_s3):
    s3, env = moto_s3
    data = os.urandom(5 * MiB + 9)
    server.files["/x.safetensors"] = Served(data, drops=[MiB])
    work = import_workdir(
        tmp_path / "job",
        {"source": f"{server.url}/x.safetensors", "type": "Lora", "expected_sha256": hashlib.sha256(data).hexdigest()},
    )
    run = run_import(work, env)
    assert run.code == 0, run.stderr[-3000:]
    assert s3.get_object(Bucket="sdaws-models", Key="Lora/x.safetensors")["Body"].read() == data
    assert run.outputs()[0]["stored"] == "s3://sdaws-models/Lora/x.safetensors"
    # no local copy: only the manifest naming what was stored (jobs/<id>/output/ on AWS)
    assert _everything_visible(work / "output") == ["import.json"]
    manifest = json.loads((work / "output" / "import.json").read_text())
    assert manifest["key"] == "Lora/x.safetensors" and manifest["sha256"] == hashlib.sha256(data).hexdigest()

    bad = import_workdir(
        tmp_path / "bad",
        {"source": f"{server.url}/x.safetensors", "type": "Lora", "name": "y.safetensors", "expected_sha256": "1" * 64},
    )
    assert run_import(bad, env).code == 2
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="sdaws-models").get("Contents", [])] == ["Lora/x.safetensors"]
    assert s3.list_multipart_uploads(Bucket="sdaws-models").get("Uploads", []) == []

    again = run_import(
        import_workdir(tmp_path / "again", {"source": f"{server.url}/x.safetensors", "type": "Lora"}), env
    )
    assert again.code == 2 and "already exists" in again.events[-1]["message"]


def test_a_hub_folder_into_s3_writes_its_marker_last(tmp_path, moto_s3):
    s3, env = moto_s3
    fill_hf_cache(tmp_path / "hf")
    work = import_workdir(tmp_path / "job", {"source": "org/tiny-pipe", "type": "diffusers", "name": "tiny"})
    run = run_import(work, {**env, **_hf_env(tmp_path)})
    assert run.code == 0, run.stderr[-3000:]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="sdaws-models")["Contents"])
    assert keys == [
        "diffusers/tiny/model_index.json",
        "diffusers/tiny/unet/config.json",
        "diffusers/tiny/unet/diffusion_pytorch_model.safetensors",
        "diffusers/tiny/vae/config.json",
        "diffusers/tiny/vae/diffusion_pytorch_model.safetensors",
    ]
