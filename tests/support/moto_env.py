"""The environment every moto-backed test sets: dummy credentials, one region, Powertools quiet.

One home for it, so a test never talks to a real account by a forgotten variable.
"""

from __future__ import annotations

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
