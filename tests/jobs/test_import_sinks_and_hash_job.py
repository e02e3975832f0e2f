"""The S3 side of imports and hashing, against moto served over real HTTP: a multipart sink
across several parts and a restart, and the hash utility job for objects past the Lambda."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from sdaws.contract.progress import parse_line
from sdaws_jobs.errors import SpecError
from sdaws_jobs.imports.sinks import S3Sink
from tests.support.moto_env import FAKE_CREDENTIALS, moto_over_http

MiB = 1024 * 1024
BUCKET = "sdaws-models"


@pytest.fixture
def moto_s3():
    with moto_over_http() as (endpoint, s3):
        s3.create_bucket(Bucket=BUCKET)
        yield s3, FAKE_CREDENTIALS | {"AWS_ENDPOINT_URL": endpoint, "SDAWS_IMPORT_DESTINATION": f"s3://{BUCKET}"}


def test_multipart_sink_over_several_parts_with_a_restart(moto_s3):
    s3, _ = moto_s3
    sink = S3Sink(s3, BUCKET, "Lora/x.safetensors", part_size=5 * MiB)
    sink.write(os.urandom(7 * MiB))  # a first attempt, thrown away by the server's full resend
    sink.reset()
    data = os.urandom(17 * MiB + 3)
    for offset in range(0, len(data), 3 * MiB):
        sink.write(memoryview(data)[offset : offset + 3 * MiB])
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0  # nothing visible before commit
    sink.commit()
    assert s3.get_object(Bucket=BUCKET, Key="Lora/x.safetensors")["Body"].read() == data
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    with pytest.raises(SpecError, match="already exists"):
        S3Sink(s3, BUCKET, "Lora/x.safetensors")


def test_an_aborted_sink_leaves_no_upload(moto_s3):
    s3, _ = moto_s3
    sink = S3Sink(s3, BUCKET, "Lora/y.safetensors", part_size=5 * MiB)
    sink.write(os.urandom(11 * MiB))
    sink.abort()
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def _hash_job(tmp_path, spec, env):
    config = tmp_path / "input" / "config"
    config.mkdir(parents=True)
    (config / "spec.json").write_text(json.dumps(spec))
    proc = subprocess.run(
        [sys.executable, "-m", "sdaws_jobs", "hash", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    return proc.returncode, [e for e in map(parse_line, proc.stdout.splitlines()) if e], proc.stderr


def test_the_hash_job_hashes_an_object_put_with_put_object(tmp_path, moto_s3):
    s3, env = moto_s3
    data = os.urandom(9 * MiB + 1)
    s3.put_object(Bucket=BUCKET, Key="Stable-diffusion/huge.safetensors", Body=data)
    code, events, stderr = _hash_job(tmp_path / "job", {"key": "Stable-diffusion/huge.safetensors"}, env)
    assert code == 0, stderr[-2000:]
    [out] = [e for e in events if e["event"] == "output"]
    assert out["sha256"] == hashlib.sha256(data).hexdigest() and out["size"] == len(data)
    assert out["file"] == "Stable-diffusion/huge.safetensors" and out["etag"].strip('"')
    saved = json.loads((tmp_path / "job" / "output" / "hash.json").read_text())
    assert saved == {"key": out["file"], "sha256": out["sha256"], "size": len(data), "etag": out["etag"]}


def test_the_hash_job_refuses_what_is_not_a_model_key(tmp_path, moto_s3):
    _, env = moto_s3
    code, events, _ = _hash_job(tmp_path / "job", {"key": "../etc/passwd"}, env)
    assert code == 2 and "invalid spec" in events[-1]["message"]
    code, events, _ = _hash_job(tmp_path / "gone", {"key": "Lora/gone.safetensors"}, env)
    assert code == 2 and "gone" in events[-1]["message"]
