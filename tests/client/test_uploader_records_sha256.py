"""The real uploader records the sha256 it computed, on the local server and on AWS.

The uploader hashes the file while it sends the parts, so it can only give the sha256 at
complete. On AWS, S3 cannot hash a multipart object; the sha256 must still be recorded
and returned by model info (it was lost: `complete` took no body).
"""

from __future__ import annotations

import hashlib
import os

import pytest

from sdaws.client.api import ApiClient
from sdaws.client.uploader import UploadState, upload_file
from tests.support.api_world import TOKEN
from tests.support.gateway import GatewayServer

MiB = 1024 * 1024


@pytest.fixture
def aws_client(moto_http_world):
    handler, _ = moto_http_world
    gateway = GatewayServer(handler)
    client = ApiClient(gateway.url, TOKEN)
    yield client
    client.close()
    gateway.stop()


@pytest.fixture
def local_client(tmp_path):
    from sam_app.local_server.server import serve_in_thread

    handle = serve_in_thread(tmp_path / "models", tmp_path / "data", TOKEN, part_size=MiB)
    client = ApiClient(handle.url, TOKEN)
    yield client
    client.close()
    handle.stop()


@pytest.mark.parametrize("world", ["aws_client", "local_client"])
def test_upload_records_the_sha256_the_uploader_computed(world, request, tmp_path):
    client = request.getfixturevalue(world)
    source = tmp_path / "style.safetensors"
    source.write_bytes(os.urandom(5 * MiB + 4321))  # two parts at the AWS world's 5 MiB
    digest = hashlib.sha256(source.read_bytes()).hexdigest()

    result = upload_file(client, source, "Lora", state=UploadState(tmp_path / "uploads.json"))

    assert result["sha256"] == digest
    assert result["sha256_verified"] is (world == "local_client")  # only the local store re-hashes
    assert client.model_info("Lora", "style.safetensors")["sha256"] == digest


def test_a_wrong_sha256_at_complete_publishes_nothing_locally(local_client, tmp_path):
    source = tmp_path / "v.safetensors"
    source.write_bytes(os.urandom(1000))
    created = local_client.create_upload("VAE", source.name, 1000)
    import httpx

    httpx.put(created["parts"][0]["url"], content=source.read_bytes()).raise_for_status()
    from sdaws.client.api import ApiError

    with pytest.raises(ApiError) as failed:
        local_client.complete_upload(created["upload_id"], "0" * 64)
    assert failed.value.status == 409
    assert local_client.list_models("VAE")["items"] == []
    # The stored bytes are not the file: they are dropped, the upload stays open and lists every
    # part as missing, so a retry (as the uploader does it) sends them again and completes.
    status = local_client.get_upload(created["upload_id"])
    assert status["status"] == "open" and [p["part_number"] for p in status["parts_missing"]] == [1]
    httpx.put(status["parts_missing"][0]["url"], content=source.read_bytes()).raise_for_status()
    good = local_client.complete_upload(created["upload_id"], hashlib.sha256(source.read_bytes()).hexdigest())
    assert good["sha256_verified"] is True


@pytest.mark.parametrize("change", ["append", "rewrite in place"])
def test_a_file_written_to_while_it_uploads_is_refused_and_nothing_is_published(local_client, tmp_path, change):
    """Parts are streamed and the hash is read apart from them, so a file edited during the
    upload could record a hash of bytes that were never sent: the uploader checks the file's
    size and mtime around the whole upload and says to upload it again."""
    from sdaws.client.uploader import UploadFailed

    source = tmp_path / "edited.safetensors"
    source.write_bytes(os.urandom(3 * MiB))
    edited = []

    def edit_after_the_first_bytes(progress) -> None:
        if progress.done and not edited:
            edited.append(True)
            with source.open("r+b" if change == "rewrite in place" else "ab") as fh:
                fh.write(b"edited")
            stat = source.stat()  # a coarse clock must still see a new mtime
            os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    with pytest.raises(UploadFailed) as failed:
        upload_file(
            local_client,
            source,
            "Lora",
            state=UploadState(tmp_path / "uploads.json"),
            on_progress=edit_after_the_first_bytes,
        )
    assert failed.value.code == "file_changed"
    assert "upload it again" in str(failed.value)
    assert local_client.list_models("Lora")["items"] == []
