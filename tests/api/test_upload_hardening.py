"""Uploads to the local server under attack and accident: wrong bytes on resume, races for
one name, parts of the wrong size, expiry, folders where files should be, concurrent
completes and aborts. Each ends in a clear 4xx or a clean result, never a 500, a lost
upload or a file the catalog describes wrongly.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import requests

from sdaws.client.api import ApiClient, ApiError
from sdaws.client.uploader import UploadCancelled, UploadState, upload_file
from tests.support.api_world import AUTH, TOKEN

MiB = 1024 * 1024


@pytest.fixture
def client(api_server):
    client = ApiClient(api_server.url, TOKEN)
    yield client
    client.close()


def _models(api_server):
    return api_server.server.services.models.store.root


def _create(api_server, name: str, size: int, **extra) -> dict:
    body = {"type": "Lora", "filename": name, "size": size} | extra
    r = requests.post(f"{api_server.url}/uploads", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


def _send_all(created: dict, data: bytes) -> None:
    size = created["part_size"]
    for part in created["parts"]:
        n = part["part_number"]
        r = requests.put(part["url"], data=data[(n - 1) * size : n * size])
        assert r.status_code == 200, r.text


def _complete(api_server, upload_id: str, data: bytes | None = None) -> requests.Response:
    body = {"sha256": hashlib.sha256(data).hexdigest()} if data is not None else None
    return requests.post(f"{api_server.url}/uploads/{upload_id}/complete", json=body, headers=AUTH)


def _hidden(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.is_dir() else []


# -- item 4: a wrong sha256 publishes nothing, and a re-run simply succeeds ------------------
def test_a_resume_over_parts_of_another_version_publishes_nothing_and_a_rerun_succeeds(client, api_server, tmp_path):
    source = tmp_path / "style.safetensors"
    first = os.urandom(3 * MiB)
    source.write_bytes(first)
    state = UploadState(tmp_path / "uploads.json")
    cancel = threading.Event()

    def stop_after_first_part(progress) -> None:
        if progress.parts_done >= 1:
            cancel.set()

    with pytest.raises(UploadCancelled):
        upload_file(client, source, "Lora", state=state, workers=1, on_progress=stop_after_first_part, cancel=cancel)
    # Before the user resumes, another version replaces the file, keeping size and time
    # (`cp -p`, `rsync -t`): the uploader's resume state cannot tell, only the sha256 can.
    stamp = source.stat().st_mtime_ns
    second = os.urandom(3 * MiB)
    source.write_bytes(second)
    os.utime(source, ns=(stamp, stamp))

    with pytest.raises(ApiError) as mismatch:
        upload_file(client, source, "Lora", state=state, workers=1)
    assert mismatch.value.status == 409 and "nothing was published" in str(mismatch.value)
    assert client.list_models("Lora")["items"] == []
    assert _hidden(_models(api_server) / "Lora") == [], "no temp file is left in the model folder"

    done = upload_file(client, source, "Lora", state=state, workers=1)  # the same command, run again
    assert done["sha256"] == hashlib.sha256(second).hexdigest() and done["sha256_verified"] is True
    assert (_models(api_server) / "Lora" / "style.safetensors").read_bytes() == second
    assert client.model_info("Lora", "style.safetensors")["sha256"] == done["sha256"]


# -- item 4b: one name, two uploads ------------------------------------------------------------
def test_the_second_upload_to_a_new_name_does_not_replace_the_first(api_server):
    a, b = os.urandom(1000), os.urandom(1000)
    first, second = _create(api_server, "same.safetensors", 1000), _create(api_server, "same.safetensors", 1000)
    _send_all(first, a)
    _send_all(second, b)
    assert _complete(api_server, first["upload_id"], a).status_code == 200
    refused = _complete(api_server, second["upload_id"], b)
    assert refused.status_code == 409 and "overwrite=true" in refused.json()["message"]
    assert (_models(api_server) / "Lora" / "same.safetensors").read_bytes() == a
    info = requests.get(f"{api_server.url}/models/Lora/same.safetensors", headers=AUTH).json()
    assert info["sha256"] == hashlib.sha256(a).hexdigest()


def test_concurrent_overwrites_leave_the_catalog_describing_the_bytes_on_disk(api_server):
    for round_ in range(3):
        contents = [os.urandom(64 * 1024) for _ in range(8)]
        uploads = [_create(api_server, "race.safetensors", len(c), overwrite=True) for c in contents]
        for created, data in zip(uploads, contents, strict=True):
            _send_all(created, data)
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(lambda u: _complete(api_server, u[0]["upload_id"], u[1]), zip(uploads, contents, strict=True))
            )
        assert [r.status_code for r in answers] == [200] * 8, [r.text for r in answers]
        on_disk = hashlib.sha256((_models(api_server) / "Lora" / "race.safetensors").read_bytes()).hexdigest()
        info = requests.get(f"{api_server.url}/models/Lora/race.safetensors", headers=AUTH).json()
        assert info["sha256"] == on_disk, f"round {round_}: the catalog describes other bytes than the file's"


# -- item 4c: parts must have the size the upload was created with ----------------------------
def test_a_part_larger_than_declared_is_refused_before_it_is_read(api_server):
    created = _create(api_server, "small.safetensors", 1000)
    url = created["parts"][0]["url"]
    too_big = requests.put(url, data=b"x" * (10 * MiB))
    assert too_big.status_code == 400 and "exactly 1000 bytes" in too_big.json()["message"]
    wrong_number = url.replace("/1?", "/2?")
    assert requests.put(wrong_number, data=b"x" * 1000).status_code == 403  # signed for part 1 only
    status = requests.get(f"{api_server.url}/uploads/{created['upload_id']}", headers=AUTH).json()
    assert status["parts_done"] == [] and [p["part_number"] for p in status["parts_missing"]] == [1]
    assert not any(p.suffix == ".part" for p in (api_server.server.multipart.uploads_dir).rglob("*"))


def test_an_upload_past_its_expiry_is_expired_not_completed(api_server, monkeypatch):
    data = os.urandom(1000)
    created = _create(api_server, "late.safetensors", 1000)
    _send_all(created, data)
    clock = api_server.server.services.uploads.clock
    later = clock.now() + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    answer = _complete(api_server, created["upload_id"], data)
    assert answer.status_code == 409 and "expired" in answer.json()["message"]
    status = requests.get(f"{api_server.url}/uploads/{created['upload_id']}", headers=AUTH).json()
    assert status["status"] == "expired"
    assert not (_models(api_server) / "Lora" / "late.safetensors").exists()
    assert list(api_server.server.multipart.uploads_dir.iterdir()) == [], "its parts were dropped"


def test_abandoned_uploads_are_swept_when_they_expire(api_server, monkeypatch):
    created = _create(api_server, "abandoned.safetensors", 2 * MiB)
    requests.put(created["parts"][0]["url"], data=os.urandom(MiB)).raise_for_status()
    uploads_dir = api_server.server.multipart.uploads_dir
    assert len(list(uploads_dir.iterdir())) == 1
    api_server.server.sweeper.sweep()
    assert len(list(uploads_dir.iterdir())) == 1, "an open upload is kept"
    clock = api_server.server.services.uploads.clock
    later = clock.now() + timedelta(days=8)
    monkeypatch.setattr(clock, "now", lambda: later)
    api_server.server.sweeper.sweep()
    assert list(uploads_dir.iterdir()) == []
    status = requests.get(f"{api_server.url}/uploads/{created['upload_id']}", headers=AUTH).json()
    assert status["status"] == "expired"


# -- item 11b: folders, concurrency, aborts, odd part numbers ----------------------------------
def test_a_folder_named_like_a_model_is_a_conflict_not_a_500(api_server):
    (_models(api_server) / "Lora" / "x.safetensors").mkdir(parents=True)
    r = requests.post(
        f"{api_server.url}/uploads", json={"type": "Lora", "filename": "x.safetensors", "size": 10}, headers=AUTH
    )
    assert r.status_code == 409 and "not a file" in r.json()["message"]
    created = _create(api_server, "y.safetensors", 10)
    _send_all(created, b"0123456789")
    (_models(api_server) / "Lora" / "y.safetensors").mkdir()  # appears while the upload is in flight
    r = _complete(api_server, created["upload_id"], b"0123456789")
    assert r.status_code == 409, r.text


def test_concurrent_completes_of_one_upload_all_answer_the_same(api_server):
    data = os.urandom(3 * MiB + 7)
    created = _create(api_server, "once.safetensors", len(data))
    _send_all(created, data)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _complete(api_server, created["upload_id"], data), range(4)))
    assert [r.status_code for r in answers] == [200] * 4, [r.text for r in answers]
    assert len({r.text for r in answers}) == 1
    assert (_models(api_server) / "Lora" / "once.safetensors").read_bytes() == data


def test_a_part_sent_while_the_upload_is_aborted_gets_a_4xx(api_server):
    created = _create(api_server, "gone.safetensors", MiB)
    url = urlsplit(created["parts"][0]["url"])
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("PUT", f"{url.path}?{url.query}")
    conn.putheader("Content-Length", str(MiB))
    conn.endheaders()
    conn.send(b"x" * (MiB // 2))  # half the part is on its way when the user aborts
    assert requests.delete(f"{api_server.url}/uploads/{created['upload_id']}", headers=AUTH).status_code == 200
    conn.send(b"x" * (MiB // 2))
    answer = conn.getresponse()
    assert answer.status in (404, 409), answer.read()
    conn.close()
    assert list(api_server.server.multipart.uploads_dir.iterdir()) == []


@pytest.mark.parametrize("number", ["²", "٣", "1e3", "-1", "+1", "99999999999999999999"])
def test_a_part_number_that_is_not_plain_ascii_digits_is_no_route(api_server, number):
    created = _create(api_server, "digits.safetensors", 10)
    url = created["parts"][0]["url"].replace("/1?", f"/{number}?")
    r = requests.put(url, data=b"0123456789")
    assert r.status_code in (403, 404), r.text


def test_a_raw_latin1_superscript_digit_as_part_number_is_no_route(api_server):
    """The request line is read as Latin-1, where byte 0xB2 is '²': str.isdigit() says yes, int() says no."""
    import socket

    created = _create(api_server, "raw.safetensors", 10)
    url = urlsplit(created["parts"][0]["url"])
    path = url.path.rsplit("/", 1)[0].encode() + b"/\xb2?" + url.query.encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(b"PUT " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 404"), answer[:200]


def test_a_symlink_loop_in_a_type_folder_does_not_break_listing(api_server):
    lora = _models(api_server) / "Lora"
    lora.mkdir(parents=True)
    (lora / "ok.safetensors").write_bytes(b"x")
    os.symlink(lora / "loop.safetensors", lora / "loop.safetensors")
    os.symlink(lora / "nowhere", lora / "dangling.safetensors")
    listing = requests.get(f"{api_server.url}/models", headers=AUTH)
    assert listing.status_code == 200 and [i["name"] for i in listing.json()["items"]] == ["ok.safetensors"]
    assert requests.get(f"{api_server.url}/models/Lora/loop.safetensors", headers=AUTH).status_code == 404
