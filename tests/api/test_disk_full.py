"""A full disk answers 507 naming the disk's folder, keeps the upload resumable, and leaves
nothing half-written.

The disk is not really filled: files the server writes in one folder go through a
stand-in for the filesystem's `open` that takes a few bytes and then fails exactly
as a full disk does (OSError ENOSPC); SQLite is held to its current size with its
own `max_page_count`, which makes it fail with SQLITE_FULL as on a full disk.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
import requests

import sam_app.adapters.local.multipart as multipart_module
from tests.support.api_world import AUTH

MiB = 1024 * 1024


class _FullFile:
    def __init__(self, fh, room: list[int]) -> None:
        self._fh, self._room = fh, room

    def write(self, data) -> int:
        if len(data) > self._room[0]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room[0] -= len(data)
        return self._fh.write(data)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def full_disk_under(folder: Path, room: int):
    """`open` for files under `folder` on a disk with `room` bytes left."""
    left = [room]

    def fake_open(path, mode="r", *args, **kwargs):
        fh = builtins.open(path, mode, *args, **kwargs)
        if "w" in mode and Path(path).resolve().is_relative_to(folder.resolve()):
            return _FullFile(fh, left)
        return fh

    return fake_open


def _create(url: str, name: str, size: int) -> requests.Response:
    return requests.post(f"{url}/uploads", json={"type": "Lora", "filename": name, "size": size}, headers=AUTH)


def _status(url: str, upload_id: str) -> dict:
    return requests.get(f"{url}/uploads/{upload_id}", headers=AUTH).json()


def test_a_part_put_on_a_full_disk_is_507_and_the_upload_resumes(api_server, monkeypatch):
    data = os.urandom(2 * MiB)
    created = _create(api_server.url, "big.safetensors", len(data)).json()
    uploads_dir = api_server.server.multipart.uploads_dir
    first, second = created["parts"]
    assert requests.put(first["url"], data=data[:MiB]).status_code == 200

    monkeypatch.setattr(multipart_module, "open_file", full_disk_under(uploads_dir, 100_000))
    refused = requests.put(second["url"], data=data[MiB:])
    assert refused.status_code == 507, refused.text
    assert refused.json()["message"].startswith(f"the disk holding {uploads_dir} is full")
    assert "can resume" in refused.json()["message"]
    status = _status(api_server.url, created["upload_id"])
    assert [p["part_number"] for p in status["parts_done"]] == [1]
    assert not [p for p in uploads_dir.rglob("*") if p.name.endswith(".tmp")], "no half-written part"

    monkeypatch.setattr(multipart_module, "open_file", builtins.open)  # space was freed
    missing = status["parts_missing"]
    assert requests.put(missing[0]["url"], data=data[MiB:]).status_code == 200
    done = requests.post(
        f"{api_server.url}/uploads/{created['upload_id']}/complete",
        json={"sha256": hashlib.sha256(data).hexdigest()},
        headers=AUTH,
    )
    assert done.status_code == 200 and done.json()["sha256_verified"] is True


def test_complete_on_a_full_disk_is_507_publishes_nothing_and_can_be_retried(api_server, monkeypatch):
    data = os.urandom(3 * MiB)
    created = _create(api_server.url, "full.safetensors", len(data)).json()
    for part in created["parts"]:
        n = part["part_number"]
        requests.put(part["url"], data=data[(n - 1) * MiB : n * MiB]).raise_for_status()
    lora = api_server.server.services.models.store.root / "Lora"
    monkeypatch.setattr(multipart_module, "open_file", full_disk_under(lora.parent, 2 * MiB))
    body = {"sha256": hashlib.sha256(data).hexdigest()}
    refused = requests.post(f"{api_server.url}/uploads/{created['upload_id']}/complete", json=body, headers=AUTH)
    assert refused.status_code == 507, refused.text
    assert refused.json()["error"] == "disk_full" and f"the disk holding {lora} is full" in refused.json()["message"]
    assert sorted(p.name for p in lora.iterdir()) == [], "no model and no hidden temp file"
    status = _status(api_server.url, created["upload_id"])
    assert status["status"] == "open" and len(status["parts_done"]) == 3

    monkeypatch.setattr(multipart_module, "open_file", builtins.open)
    done = requests.post(f"{api_server.url}/uploads/{created['upload_id']}/complete", json=body, headers=AUTH)
    assert done.status_code == 200, done.text
    assert (lora / "full.safetensors").read_bytes() == data


@pytest.fixture
def sqlite_cannot_grow(monkeypatch):
    """New SQLite connections may not grow the database file: the next page it needs fails as on a full disk."""
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)


def test_starting_uploads_when_the_database_disk_is_full_is_507(api_server, sqlite_cannot_grow):
    data_dir = api_server.server.multipart.uploads_dir.parent
    for i in range(500):
        answer = _create(api_server.url, f"m{i}.safetensors", 10)
        if answer.status_code != 201:
            break
    assert answer.status_code == 507, answer.text
    assert answer.json()["message"].startswith(f"the disk holding {data_dir} is full")
    known = {u.storage_upload_id for u in api_server.server.services.uploads.records.with_status("open")}
    folders = {p.name for p in api_server.server.multipart.uploads_dir.iterdir()}
    assert folders == known, "the refused upload left no folder behind"


def test_a_large_part_refused_mid_send_still_gets_its_507(tmp_path, monkeypatch):
    """The disk fills after the first 8 MiB of a 16 MiB part: the client must read the 507,
    not a broken pipe (the server reads and drops the rest before it answers)."""
    from sam_app.local_server.server import serve_in_thread
    from tests.support.api_world import TOKEN

    handle = serve_in_thread(tmp_path / "models", tmp_path / "data", TOKEN, part_size=16 * MiB)
    try:
        created = _create(handle.url, "large.safetensors", 16 * MiB).json()
        monkeypatch.setattr(
            multipart_module, "open_file", full_disk_under(handle.server.multipart.uploads_dir, 9 * MiB)
        )
        answer = requests.put(created["parts"][0]["url"], data=os.urandom(16 * MiB))
        assert answer.status_code == 507 and "can resume" in answer.json()["message"]
    finally:
        handle.stop()
