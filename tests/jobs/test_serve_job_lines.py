"""Every line the serving container writes while it runs a job carries the job's id: the
endpoint's one CloudWatch log group holds every request's lines, and the API finds a
job's lines by that id (sam_app/adapters/aws/cloudwatch_logs.py)."""

from __future__ import annotations

import io
import json
import sys
import threading
import urllib.error
import urllib.request

import pytest

from sdaws.contract.job_log import untagged
from tests.support import deployed

pytestmark = [pytest.mark.torch, pytest.mark.slow]
JOB = "0123456789abcdef0123456789abcdef"
BUCKET = "sdaws-serve-logs"


@pytest.fixture
def s3_world(moto_http_world, tiny_sd):
    _, s3 = moto_http_world  # moto over real HTTP; AWS_ENDPOINT_URL points at it
    s3.create_bucket(Bucket=BUCKET)
    deployed.register_bucket("ModelBucket", BUCKET)
    for path in tiny_sd.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), BUCKET, f"diffusers/tiny-sd/{path.relative_to(tiny_sd).as_posix()}")
    return s3


def test_every_line_of_a_job_request_is_tagged_with_its_id(s3_world, tmp_path, monkeypatch):
    from sdaws_jobs import serve

    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    serve.install_job_tags()
    generator = serve.Generator(tmp_path / "tree", cache_dir=tmp_path / "cache")  # a cold instance: no cached model
    server = serve.ThreadingHTTPServer(("127.0.0.1", 0), serve.make_handler(generator))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("before any request")  # not a job's line: left as it is
    request = {
        "job_id": JOB,
        "kind": "txt2img",
        "spec": {"prompt": "a lighthouse", "model": "tiny-sd", "steps": 2, "width": 32, "height": 32, "seed": 5},
        "inputs": [{"channel": "model", "uri": f"s3://{BUCKET}/diffusers/tiny-sd", "folder": True}],
        "output": f"s3://{BUCKET}/jobs/{JOB}/output/",
    }
    try:
        body = json.dumps(request).encode()
        post = urllib.request.Request(f"http://127.0.0.1:{server.server_address[1]}/invocations", data=body)
        try:
            with urllib.request.urlopen(post, timeout=300) as response:
                assert response.status == 200
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{exc}: {exc.read()!r} {err.getvalue()[-3000:]}") from None
    finally:
        server.shutdown()
        server.server_close()
    lines = [line for line in (out.getvalue() + err.getvalue()).splitlines() if line]
    job_lines = [line for line in lines if line != "before any request"]
    assert job_lines and [line for line in job_lines if untagged(JOB, line) is None] == []
    events = [json.loads(untagged(JOB, line)) for line in job_lines if untagged(JOB, line).startswith("{")]
    assert {e["event"] for e in events} >= {"progress", "output"}  # the progress protocol, whole
    assert any("POST /invocations" in line for line in job_lines)  # the access log line too
    keys = [o["Key"] for o in s3_world.list_objects_v2(Bucket=BUCKET, Prefix=f"jobs/{JOB}/output/")["Contents"]]
    assert keys == [f"jobs/{JOB}/output/images/00000-5.png"]
