"""The catalog as a user walks it: `sdaws models search|find|duplicates|edit|preview|rm` and
`sdaws import`, the installed CLI as a process against the real local server, over a tree
laid out as the WebUI writes it, and an import from an HTTP server the test runs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.api_world import TOKEN
from tests.support.catalog_files import write_webui_lora
from tests.support.env import REPO_ROOT
from tests.support.import_server import ModelServer, Served, fill_hf_cache

SDAWS = str(Path(sys.executable).parent / "sdaws")
SOURCE_TOKEN = "civitai-key-5f1c0ffee5f1c0ffee"


def sdaws(url: str, *args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'containers'}", **(env or {})}
    if "SDAWS_IMPORT_TOKEN" not in (env or {}):  # only where the test sets it
        full_env.pop("SDAWS_IMPORT_TOKEN", None)
    return subprocess.run(
        [SDAWS, *args, "--api", url, "--token", TOKEN], capture_output=True, text=True, env=full_env, timeout=timeout
    )


def ok_json(result: subprocess.CompletedProcess):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def webui_tree(api_server, tmp_path):
    """A LoRA with the sidecars the WebUI and Civitai Helper write, and a copy of it."""
    lora_dir = tmp_path / "models" / "Lora"
    lora = lora_dir / "sks_cat.safetensors"
    notes = {"description": "a cat", "activation text": "sks cat", "preferred weight": 0.7}
    sha = write_webui_lora(lora, "sdxl", kohya_base="sdxl_base_v1-0", notes=notes, civitai={"base_model": "SDXL 1.0"})
    shutil.copy(lora, lora_dir / "sks_cat_copy.safetensors")
    return api_server.url, lora_dir, sha


def wait_hashed(url: str, ref: str) -> dict:
    """The server hashes in the background; a user asks again until it says done."""
    for _ in range(300):
        info = ok_json(sdaws(url, "models", "info", ref, "--json"))
        if info["hash"]["status"] == "done":
            return info
        time.sleep(0.1)
    raise AssertionError(f"{ref} was never hashed: {info['hash']}")


def test_search_find_duplicates_edit_preview_and_remove(webui_tree, tmp_path):
    url, lora_dir, sha = webui_tree
    listed = ok_json(sdaws(url, "models", "ls", "Lora", "--json"))
    assert [i["name"] for i in listed["items"]] == ["sks_cat.safetensors", "sks_cat_copy.safetensors"]  # no sidecars

    info = wait_hashed(url, "Lora/sks_cat.safetensors")
    assert info["sha256"] == sha and info["hash"]["autov2"] == sha[:10]
    catalog = info["catalog"]
    assert catalog["family"] == "SDXL" and catalog["kind"] == "lora"
    assert (
        catalog["user_metadata"]["activation_text"] == "sks cat" and catalog["user_metadata"]["preferred_weight"] == 0.7
    )
    assert catalog["kohya"]["network_dim"] == 16 and "sks cat" in catalog["tags"]
    assert catalog["preview"] == "Lora/sks_cat.preview.png" and catalog["title"] == "Sks Cat"
    wait_hashed(url, "Lora/sks_cat_copy.safetensors")

    by_tag = ok_json(sdaws(url, "models", "search", "--tag", "sks", "--family", "SDXL", "--json"))["items"]
    assert {i["name"] for i in by_tag} == {"sks_cat.safetensors", "sks_cat_copy.safetensors"}
    by_name = sdaws(url, "models", "search", "copy")
    assert by_name.returncode == 0 and "sks_cat_copy.safetensors" in by_name.stdout and sha[:10] in by_name.stdout
    assert ok_json(sdaws(url, "models", "search", "--family", "SD1", "--json"))["items"] == []

    found = ok_json(sdaws(url, "models", "find", sha[:10].upper(), "--json"))["items"]
    assert sorted(i["name"] for i in found) == ["sks_cat.safetensors", "sks_cat_copy.safetensors"]
    dups = ok_json(sdaws(url, "models", "duplicates", "--json"))["groups"]
    assert dups[0]["sha256"] == sha and dups[0]["models"] == [
        "Lora/sks_cat.safetensors",
        "Lora/sks_cat_copy.safetensors",
    ]

    edited = ok_json(
        sdaws(url, "models", "edit", "Lora/sks_cat.safetensors", "--notes", "works at 0.8", "--weight", "0.8", "--json")
    )
    assert edited["notes"] == "works at 0.8" and edited["preferred_weight"] == 0.8
    on_disk = json.loads((lora_dir / "sks_cat.json").read_text())
    assert on_disk == {
        "description": "a cat",
        "activation text": "sks cat",
        "preferred weight": 0.8,
        "notes": "works at 0.8",
    }  # the WebUI's keys, the others kept
    text = sdaws(url, "models", "info", "Lora/sks_cat.safetensors")  # what a person reads
    assert text.returncode == 0, text.stderr
    for shown_row in ("AutoV2", sha[:10], "SDXL", "works at 0.8", "sks cat", "Lora/sks_cat.preview.png"):
        assert shown_row in text.stdout, (shown_row, text.stdout)

    jpeg = tmp_path / "new.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64)
    shown = sdaws(url, "models", "preview", "Lora/sks_cat.safetensors", "--image", str(jpeg))
    assert shown.returncode == 0, shown.stderr
    assert (lora_dir / "sks_cat.preview.jpg").read_bytes() == jpeg.read_bytes()
    assert not (lora_dir / "sks_cat.preview.png").exists()  # one preview: the one both programs show

    nothing = sdaws(url, "models", "edit", "Lora/sks_cat.safetensors")
    assert nothing.returncode == 2 and "nothing to edit" in nothing.stderr
    bad = sdaws(url, "models", "find", "xyz")
    assert bad.returncode == 1 and "not a sha256" in bad.stderr and "Traceback" not in bad.stderr

    removed = sdaws(url, "models", "rm", "Lora/sks_cat.safetensors", "--yes")
    assert removed.returncode == 0, removed.stderr
    left = sorted(p.name for p in lora_dir.iterdir())
    assert left == ["sks_cat_copy.safetensors"]  # its sidecars went with it


@pytest.fixture
def model_server():
    server = ModelServer(token=SOURCE_TOKEN)
    yield server
    server.stop()


def _everything_under(root: Path) -> bytes:
    data = b""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data += path.read_bytes()
    return data


def test_import_from_an_http_server_with_a_token_resumed_and_verified(api_server, model_server, tmp_path):
    url = api_server.url
    payload = os.urandom(3 * 1024 * 1024 + 17)
    sha = hashlib.sha256(payload).hexdigest()
    model_server.files["/files/1"] = Served(
        payload, disposition='attachment; filename="detail_tweaker.safetensors"', drops=[1024 * 1024, 2 * 1024 * 1024]
    )
    model_server.redirects["/api/download/models/1"] = f"{model_server.url}/files/1"
    source = f"{model_server.url}/api/download/models/1"

    done = sdaws(
        url,
        "import",
        source,
        "--type",
        "Lora",
        "--sha256",
        sha,
        "--wait",
        "--json",
        env={"SDAWS_IMPORT_TOKEN": SOURCE_TOKEN},
    )
    result = ok_json(done)
    assert result["job"]["status"] == "SUCCEEDED"
    stored = tmp_path / "models" / "Lora" / "detail_tweaker.safetensors"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == sha
    ranged = [r for r in model_server.requests if r["headers"].get("Range")]
    assert len(ranged) >= 2  # resumed twice from the last byte
    assert all(r["headers"].get("Authorization") == f"Bearer {SOURCE_TOKEN}" for r in model_server.requests[1:])
    listed = ok_json(sdaws(url, "models", "ls", "Lora", "--json"))
    assert [i["name"] for i in listed["items"]] == ["detail_tweaker.safetensors"]

    model_server.files["/files/2"] = Served(b"other bytes" * 1000)
    wrong = sdaws(
        url, "import", f"{model_server.url}/files/2", "--type", "Lora", "--name", "wrong.safetensors",
        "--sha256", "0" * 64, "--wait", env={"SDAWS_IMPORT_TOKEN": SOURCE_TOKEN},
    )  # fmt: skip
    assert wrong.returncode == 1 and "not the expected" in wrong.stderr
    assert not (tmp_path / "models" / "Lora" / "wrong.safetensors").exists()
    assert sorted(p.name for p in (tmp_path / "models" / "Lora").iterdir()) == ["detail_tweaker.safetensors"]

    # The token is in no record, log, job folder or answer: only the source server saw it.
    assert SOURCE_TOKEN.encode() not in _everything_under(tmp_path / "data")
    assert SOURCE_TOKEN not in done.stdout + done.stderr + wrong.stdout + wrong.stderr
    jobs = ok_json(sdaws(url, "jobs", "ls", "--json"))
    assert SOURCE_TOKEN not in json.dumps(jobs)


def test_import_mistakes_get_one_line_and_the_right_exit_code(api_server):
    url = api_server.url
    secret_in_url = sdaws(url, "import", "https://civitai.com/api/download/models/1?token=abc", "--type", "Lora")
    assert (
        secret_in_url.returncode == 2
        and "credential" in secret_in_url.stderr
        and "Traceback" not in secret_in_url.stderr
    )
    folder_as_lora = sdaws(url, "import", "org/repo", "--type", "Lora")
    assert folder_as_lora.returncode == 1 and "diffusers" in folder_as_lora.stderr
    not_a_source = sdaws(url, "import", "ftp://x/y", "--type", "Lora")
    assert not_a_source.returncode == 2 and "https://" in not_a_source.stderr


def test_import_from_hugging_face_a_file_and_a_diffusers_folder(api_server, tmp_path, monkeypatch):
    """The server's job runner reads the Hugging Face cache offline (the test fills it);
    the user's HF_TOKEN reaches the job, not its record or log."""
    files = fill_hf_cache(tmp_path / "hf")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the server's environment is the job's
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    url, hf = api_server.url, {"HF_TOKEN": "hf_user_token_0123456789abcdef"}
    one = sdaws(url, "import", "org/tiny-pipe:v1-5-pruned.safetensors", "--type", "Stable-diffusion", "--wait", env=hf)
    assert one.returncode == 0, one.stderr
    stored = tmp_path / "models" / "Stable-diffusion" / "v1-5-pruned.safetensors"
    assert stored.read_bytes() == files["v1-5-pruned.safetensors"]
    folder = sdaws(url, "import", "org/tiny-pipe", "--type", "diffusers", "--name", "tiny", "--wait", "--json", env=hf)
    assert ok_json(folder)["job"]["status"] == "SUCCEEDED"
    unet = tmp_path / "models" / "diffusers" / "tiny" / "unet" / "diffusion_pytorch_model.safetensors"
    assert unet.read_bytes() == files["unet/diffusion_pytorch_model.safetensors"]
    assert b"hf_user_token_0123456789abcdef" not in _everything_under(tmp_path / "data")
