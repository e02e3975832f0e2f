"""The environment every moto-backed test sets: dummy credentials, one region, Powertools quiet.

One home for it, so a test never talks to a real account by a forgotten variable.
"""

from __future__ import annotations

import contextlib

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# What the Lambda handlers read from their function's environment in template.yaml.
POWERTOOLS_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "sdaws",
    "POWERTOOLS_SERVICE_NAME": "sdaws",
}


def use_fake_aws(monkeypatch, *, endpoint: str | None = None, extra: dict[str, str] | None = None) -> None:
    """Dummy credentials (and Powertools' env); AWS_ENDPOINT_URL is `endpoint` or unset (in-process moto)."""
    for name, value in (FAKE_CREDENTIALS | POWERTOOLS_ENV | (extra or {})).items():
        monkeypatch.setenv(name, value)
    if endpoint is None:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)


@contextlib.contextmanager
def moto_over_http():
    """moto as a real HTTP server on loopback, fresh: (its endpoint, an S3 client for it).
    For what goes through real sockets (a job process, the uploader, presigned URLs)."""
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        requests.post(f"{endpoint}/moto-api/reset")  # moto's state is per process, not per server
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=FAKE_CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        yield endpoint, s3
    finally:
        moto.stop()
