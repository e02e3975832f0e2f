"""Interrupted uploads resume by sending only the missing parts, in both modes.

Local: the embedded server signs its own part URLs. AWS: the real Lambda handler
over moto running as a real HTTP server, so the part PUTs go to presigned S3 URLs.
The stored object must hash like the source, and finished or aborted uploads must
leave no parts behind.
"""

from __future__ import annotations

import hashlib
import os

import requests


def put_part(url: str, data: bytes) -> None:
    resp = requests.put(url, data=data)
    assert resp.status_code == 200, resp.text


def test_interrupted_upload_resumes_with_only_missing_parts(upload_api):
    client, part_size = upload_api
    source = os.urandom(3 * part_size + 12345)  # four parts, the last one short
    chunks = [source[i : i + part_size] for i in range(0, len(source), part_size)]
    # As the real uploader does: no sha256 at create (it hashes while sending), one at complete.
    status, created = client.call("POST", "/uploads", {"type": "lora", "filename": "style", "size": len(source)})
    assert status == 201, created
    assert created["name"] == "style.ckpt" and created["part_count"] == 4

    # The connection drops after parts 1 and 3.
    urls = {p["part_number"]: p["url"] for p in created["parts"]}
    for n in (1, 3):
        put_part(urls[n], chunks[n - 1])

    status, resume = client.call("GET", f"/uploads/{created['upload_id']}")
    assert status == 200
    assert [p["part_number"] for p in resume["parts_done"]] == [1, 3]
    missing = {p["part_number"]: p["url"] for p in resume["parts_missing"]}
    assert sorted(missing) == [2, 4]

    sent = []
    for n, url in missing.items():
        put_part(url, chunks[n - 1])
        sent.append(n)
    assert sorted(sent) == [2, 4]

    digest = hashlib.sha256(source).hexdigest()
    status, done = client.call("POST", f"/uploads/{created['upload_id']}/complete", {"sha256": digest})
    assert status == 200, done
    stored = client.stored_bytes("Lora/style.ckpt")
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(source).hexdigest() == done["sha256"]
    assert client.leftover_parts() == []

    status, again = client.call("POST", f"/uploads/{created['upload_id']}/complete", {"sha256": digest})
    assert status == 200 and again["sha256"] == done["sha256"], "complete is idempotent"


def test_aborted_upload_leaves_nothing(upload_api):
    client, part_size = upload_api
    source = os.urandom(2 * part_size)
    status, created = client.call("POST", "/uploads", {"type": "VAE", "filename": "v.safetensors", "size": len(source)})
    assert status == 201
    put_part(created["parts"][0]["url"], source[:part_size])

    status, body = client.call("DELETE", f"/uploads/{created['upload_id']}")
    assert status == 200 and body == {"aborted": True}
    assert client.leftover_parts() == []
    status, body = client.call("POST", f"/uploads/{created['upload_id']}/complete")
    assert status == 409, body
    status, body = client.call("GET", "/models/VAE/v.safetensors")
    assert status == 404


def test_complete_with_missing_part_is_refused_and_keeps_the_upload(upload_api):
    client, part_size = upload_api
    source = os.urandom(part_size + 10)
    status, created = client.call("POST", "/uploads", {"type": "VAE", "filename": "w.safetensors", "size": len(source)})
    put_part(created["parts"][0]["url"], source[:part_size])
    status, body = client.call("POST", f"/uploads/{created['upload_id']}/complete")
    assert status == 409 and "2" in body["message"], body
    status, resume = client.call("GET", f"/uploads/{created['upload_id']}")
    assert [p["part_number"] for p in resume["parts_missing"]] == [2]
