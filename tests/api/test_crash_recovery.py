"""kill -9 during `complete`: the restart removes the hidden temp file and the upload
completes when asked again; a complete whose rename had happened is finished by the
restart itself.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from sam_app.adapters.local.multipart import TEMP_PREFIX
from tests.support.api_world import AUTH, TOKEN

SDAWS = str(Path(sys.executable).parent / "sdaws")
MiB = 1024 * 1024


def _serve(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k != "SDAWS_TOKEN"} | {
        "SDAWS_TOKEN": TOKEN,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    proc = subprocess.Popen(
        [SDAWS, "serve", "--port", "0", "--models", str(tmp_path / "models"), "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
    assert match, line + proc.stderr.read()
    return proc, match.group(1)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def created_storage(tmp_path: Path) -> str:
    """The storage id of the one upload in flight (its parts folder's name)."""
    (folder,) = [p for p in (tmp_path / "data" / "uploads").iterdir() if p.is_dir()]
    return folder.name


def test_kill_during_complete_leaves_nothing_a_restart_does_not_clean(tmp_path):
    (tmp_path / "models" / "Lora").mkdir(parents=True)
    lora = tmp_path / "models" / "Lora"
    proc, url = _serve(tmp_path)
    try:
        size = 3 * 64 * MiB  # the server's part size: three parts, enough for complete to take a moment
        created = requests.post(
            f"{url}/uploads", json={"type": "Lora", "filename": "big.safetensors", "size": size}, headers=AUTH
        ).json()
        digest = hashlib.sha256()
        for part in created["parts"]:
            chunk = os.urandom(created["part_size"])
            digest.update(chunk)
            requests.put(
                part["url"], data=io.BytesIO(chunk), headers={"Content-Length": str(len(chunk))}
            ).raise_for_status()
        sha = digest.hexdigest()
        complete = subprocess.Popen(  # complete from another process, so this one can watch and kill
            [
                sys.executable,
                "-c",
                "import requests,sys; requests.post(sys.argv[1], json={'sha256': sys.argv[2]}, "
                "headers={'x-api-key': sys.argv[3]}, timeout=60)",
                f"{url}/uploads/{created['upload_id']}/complete",
                sha,
                TOKEN,
            ],
            stderr=subprocess.DEVNULL,
        )
        # Kill once the temp file is being written (assembling and fsyncing 192 MiB takes a while).
        journal = tmp_path / "data" / "uploads" / f"{created_storage(tmp_path)}.publish.json"
        deadline = time.monotonic() + 60
        while complete.poll() is None and time.monotonic() < deadline:
            temps = [p for p in lora.iterdir() if p.name.startswith(TEMP_PREFIX)]
            if temps and _size(temps[0]) > 0:
                break
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        complete.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    left = [p.name for p in lora.iterdir() if p.name.startswith(".")] + [journal.name] * journal.exists()
    assert left, "the kill came too late to leave anything (the complete had finished)"

    proc, url = _serve(tmp_path)
    try:
        assert [p.name for p in lora.iterdir() if p.name.startswith(".")] == [], "the restart removed it"
        status = requests.get(f"{url}/uploads/{created['upload_id']}", headers=AUTH).json()
        if status["status"] == "open":  # killed before the rename: the parts wait for another complete
            assert len(status["parts_done"]) == 3
            done = requests.post(
                f"{url}/uploads/{created['upload_id']}/complete", json={"sha256": sha}, headers=AUTH
            ).json()
            assert done["sha256"] == sha
        info = requests.get(f"{url}/models/Lora/big.safetensors", headers=AUTH).json()
        assert info["size"] == size and info["sha256"] == sha
        assert list((tmp_path / "data" / "uploads").iterdir()) == [], "no parts are left behind"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_complete_cut_off_after_its_rename_is_finished_by_the_restart(tmp_path):
    from sam_app.local_server.server import LocalApiServer

    server = LocalApiServer(tmp_path / "models", tmp_path / "data", TOKEN, part_size=1024 * 1024)
    data = os.urandom(1500)
    created = server.services.uploads.create("Lora", "cut.safetensors", len(data))
    record = server.services.uploads.records.get(created["upload_id"])
    server.multipart.write_part(record.storage_upload_id, 1, io.BytesIO(data), len(data))
    parts = server.multipart.list_parts(record.key, record.storage_upload_id)
    # What the service's complete does up to the rename; the process dies before it records anything.
    sha = server.multipart.complete(record.key, record.storage_upload_id, parts, hashlib.sha256(data).hexdigest())
    server.server_close()  # the server is gone (its data-dir lock with it)

    restarted = LocalApiServer(tmp_path / "models", tmp_path / "data", TOKEN)
    try:
        status = restarted.services.uploads.status(created["upload_id"])
        assert status["status"] == "completed"
        assert restarted.services.models.model_info("Lora", "cut.safetensors")["sha256"] == sha
        assert list((tmp_path / "data" / "uploads").iterdir()) == []
    finally:
        restarted.server_close()


def test_a_restart_sweeps_leftovers_but_keeps_open_uploads(tmp_path):
    from sam_app.local_server.server import LocalApiServer

    server = LocalApiServer(tmp_path / "models", tmp_path / "data", TOKEN, part_size=1024 * 1024)
    created = server.services.uploads.create("Lora", "open.safetensors", 2 * MiB)
    record = server.services.uploads.records.get(created["upload_id"])
    server.multipart.write_part(record.storage_upload_id, 1, io.BytesIO(b"x" * MiB), MiB)
    server.server_close()
    uploads = tmp_path / "data" / "uploads"
    lora = tmp_path / "models" / "Lora"
    lora.mkdir(parents=True)
    leftovers = [
        uploads / ("f" * 32),  # parts of an upload no record knows
        uploads / record.storage_upload_id / ".2.0123.tmp",  # a part cut off mid-way
        lora / f"{TEMP_PREFIX}{'e' * 32}.tmp",  # an interrupted complete, journal lost
        lora / ".old.safetensors.0123.sdaws-upload",  # what earlier versions left
        lora / f".cat.json.{'d' * 32}.sdaws-tmp",  # a sidecar edit cut off mid-way
        tmp_path / "data" / "job-inputs" / "g" / ".upload-abc",  # a job input cut off mid-way
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir() if path.name == "f" * 32 else path.write_bytes(b"left")
    restarted = LocalApiServer(tmp_path / "models", tmp_path / "data", TOKEN, part_size=1024 * 1024)
    try:
        assert [p for p in leftovers if p.exists()] == []
        status = restarted.services.uploads.status(created["upload_id"])
        assert status["status"] == "open" and [p["part_number"] for p in status["parts_done"]] == [1]
    finally:
        restarted.server_close()
