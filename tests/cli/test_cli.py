"""The scripting CLI (`sdaws models|upload|...`) as a subprocess against the real local server."""

from __future__ import annotations

import hashlib
import json

import pytest

from sdaws.client.demo import demo_bytes
from tests.support.tui_env import run_sdaws
from tests.support.upload_worlds import upload_stopped_after


def _put(server, folder: str, name: str, data: bytes):
    (server.models / folder).mkdir(parents=True, exist_ok=True)
    path = server.models / folder / name
    path.write_bytes(data)
    return path


def test_models_ls_info_rm_json(server):
    _put(server, "Stable-diffusion", "demo.safetensors", demo_bytes())
    _put(server, "Lora", "style.safetensors", demo_bytes())

    listed = run_sdaws(server, "models", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    names = {(m["type"], m["name"]) for m in json.loads(listed.stdout)["items"]}
    assert names == {("Stable-diffusion", "demo.safetensors"), ("Lora", "style.safetensors")}

    only_lora = json.loads(run_sdaws(server, "models", "ls", "Lora", "--json").stdout)["items"]
    assert [m["name"] for m in only_lora] == ["style.safetensors"]

    info = run_sdaws(server, "models", "info", "Stable-diffusion/demo.safetensors", "--json")
    assert info.returncode == 0, info.stderr
    summary = json.loads(info.stdout)
    assert summary["format"] == "safetensors"
    assert summary["safetensors"]["tensor_count"] == 8

    human = run_sdaws(server, "models", "info", "Stable-diffusion", "demo.safetensors")
    assert "Tensors       8 " in human.stdout

    refused = run_sdaws(server, "models", "rm", "Lora/style.safetensors")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert (server.models / "Lora/style.safetensors").exists()

    removed = run_sdaws(server, "models", "rm", "Lora/style.safetensors", "--yes", "--json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout) == {"deleted": True}
    assert not (server.models / "Lora/style.safetensors").exists()


def test_models_ls_pages_through_and_reports_missing_stable_diffusion(server):
    (server.models / "Stable-diffusion").rmdir()
    for i in range(25):
        _put(server, "Lora", f"l{i:02d}.safetensors", b"x")
    result = run_sdaws(server, "models", "ls", "Lora", "--limit", "0")
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 25
    assert "Stable-diffusion" in result.stderr  # the warning goes to stderr, the list stays clean

    limited = json.loads(run_sdaws(server, "models", "ls", "--limit", "7", "--json").stdout)
    assert len(limited["items"]) == 7 and limited["warnings"]


@pytest.mark.parametrize(
    "args, status, words",
    [
        (("models", "info", "Lora/nope.safetensors"), 1, "no model Lora/nope"),
        (("models", "info", "justonename"), 2, "TYPE NAME"),
        (("models", "ls", "NoSuchFolder"), 1, "NoSuchFolder"),
        (("upload", "missing.safetensors", "--type", "Lora"), 2, "is not a file"),
    ],
)
def test_bad_input_is_one_clear_line_not_a_traceback(server, args, status, words):
    result = run_sdaws(server, *args)
    assert result.returncode == status
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_token_and_unreachable_api_say_what_to_fix(server):
    result = run_sdaws(None, "models", "ls", "--api", server.url, "--token", "wrong")
    assert result.returncode == 1 and "403" in result.stderr and "token" in result.stderr
    result = run_sdaws(None, "models", "ls", "--api", "http://127.0.0.1:9", "--token", "x")
    assert result.returncode == 1 and "Cannot reach" in result.stderr
    result = run_sdaws(None, "models", "ls", "--api", "ftp://example", "--token", "x", "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["error"] == "bad_url"


def test_upload_suggests_type_from_header_and_verifies_sha256(server, tmp_path):
    src = tmp_path / "mystery.safetensors"
    src.write_bytes(demo_bytes())
    result = run_sdaws(server, "upload", str(src), "--json")
    assert result.returncode == 0, result.stderr
    uploaded = json.loads(result.stdout)["uploaded"][0]
    assert uploaded["type"] == "Stable-diffusion"  # model.diffusion_model.* keys in the header
    assert uploaded["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (server.models / "Stable-diffusion/mystery.safetensors").read_bytes() == src.read_bytes()


def test_upload_resumes_after_a_restart_from_state_in_the_config_dir(server, tmp_path):
    from sdaws.client.uploader import UploadState

    src = tmp_path / "big.ckpt"
    src.write_bytes(bytes(range(256)) * (4096 * 6) + b"tail")  # 6 MiB + 4 bytes: 7 parts of 1 MiB
    client = server.client()
    upload_stopped_after(client, src, "Stable-diffusion", parts=2)
    record = next(iter(UploadState().pending().values()))
    before = client.get_upload(record["upload_id"])
    assert before["status"] == "open" and before["parts_done"] and before["parts_missing"]

    result = run_sdaws(server, "upload", str(src), "--type", "Stable-diffusion", "--json")
    assert result.returncode == 0, result.stderr
    uploaded = json.loads(result.stdout)["uploaded"][0]
    assert uploaded["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    after = client.get_upload(record["upload_id"])  # the same upload was completed: it resumed
    assert after["status"] == "completed"
    assert UploadState().pending() == {}
    assert (server.models / "Stable-diffusion/big.ckpt").read_bytes() == src.read_bytes()


def test_resume_sends_only_the_parts_the_server_lacks(server, tmp_path):
    from sdaws.client.uploader import upload_file

    src = tmp_path / "five.safetensors"
    src.write_bytes(b"\x07" * (5 * 1024 * 1024))
    client = server.client()
    upload_stopped_after(client, src, "Lora", parts=3)
    events = []
    result = upload_file(client, src, "Lora", workers=2, on_progress=events.append)
    stored_first = events[0]
    assert stored_first.parts_done >= 3 and stored_first.done == stored_first.parts_done * 1024 * 1024
    # every later byte counted belongs to a missing part: the total never exceeds the file
    assert max(e.done for e in events) == src.stat().st_size
    assert result["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
