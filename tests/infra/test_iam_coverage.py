"""Every statement of every role in template.yaml is needed: drop any one, and some AWS
call the product makes in the tests is no longer allowed (tests/support/aws_calls.py
records the calls; tests/support/iam_policy.py evaluates the policies).

The calls come from this session when it ran the corpus files below (the full suite
does, and this module runs last); otherwise the missing files run first in a
subprocess that hands its calls back. Statements that serve the AWS service itself
rather than a call of ours are listed in SERVICE_SIDE with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import aws_calls, deployed, iam_policy
from tests.support.aws_calls import Call
from tests.support.env import REPO_ROOT

CORPUS = [
    "tests/adapters/test_logs_and_outputs.py",
    "tests/adapters/test_s3_addressing.py",
    "tests/adapters/test_sagemaker_launcher.py",
    "tests/adapters/test_sagemaker_request_limits.py",
    "tests/api/test_aws_job_listing.py",
    "tests/api/test_aws_jobs.py",
    "tests/api/test_converted_models_api.py",
    "tests/api/test_endpoints_api.py",
    "tests/api/test_first_inference.py",
    "tests/api/test_names_round_trip.py",
    "tests/api/test_upload_response_size.py",
    "tests/client/test_expired_part_urls.py",
    "tests/client/test_uploader_records_sha256.py",
    "tests/handlers",
    "tests/jobs/test_serve_job_lines.py",
    "tests/e2e_aws",
]
SERVICE_SIDE = {
    "DeadLetters": "Lambda itself sends an event its function failed on to the DLQ, with the function's role",
    "TrainStateMachine:ExecutionLogging": "Step Functions sets up and writes the execution log delivery",
    "SageMakerExecutionRole:PullJobImage": "SageMaker pulls the job image from ECR as the execution role",
    "SageMakerExecutionRole:EcrLogin": "SageMaker logs in to ECR as the execution role",
    "SageMakerExecutionRole:JobMetrics": "SageMaker publishes the job's metrics as the execution role",
}


def _service_side(key: str) -> bool:
    return key in SERVICE_SIDE or key.split(":", 1)[1] in SERVICE_SIDE


def _has_tests(entry: str) -> bool:
    path = REPO_ROOT / entry
    return path.is_file() or any(path.rglob("test_*.py"))


def _in_session(request) -> set[str]:
    ran = set()
    for item in request.session.items:
        path = item.path.relative_to(REPO_ROOT).as_posix()
        ran |= {entry for entry in CORPUS if path == entry or path.startswith(entry + "/")}
    return ran


@pytest.fixture(scope="module")
def corpus(request, tmp_path_factory) -> list[Call]:
    calls = [c for c in aws_calls.SESSION if not c.unmapped]
    missing = [entry for entry in CORPUS if entry not in _in_session(request) and _has_tests(entry)]
    if missing:
        out = tmp_path_factory.mktemp("iam") / "calls.json"
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *missing],
            cwd=REPO_ROOT,
            env=os.environ | {aws_calls.CALLS_OUT: str(out)},
            capture_output=True,
            text=True,
            timeout=3600,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        recorded = json.loads(out.read_text())
        deployed.merge(recorded["deployed"])  # what those tests deployed resolves the policies
        calls += [Call.from_json(c) for c in recorded["calls"]]
    return calls


def test_no_product_call_scans_a_dynamodb_table(corpus):
    assert [c.describe() for c in corpus if (c.service, c.operation) == ("dynamodb", "Scan")] == []


def test_every_recorded_call_is_allowed(corpus):
    assert iam_policy.gaps(corpus, iam_policy.statements()) == []


def _statement_keys() -> list[str]:
    return sorted({s.key for s in iam_policy.statements()})


@pytest.mark.parametrize("key", _statement_keys())
def test_removing_the_statement_leaves_a_call_unallowed(corpus, key):
    statements = iam_policy.statements()
    assert all(s.sid for s in statements), "every statement needs a Sid to be named here"
    gaps = iam_policy.gaps(corpus, statements, drop=key)
    if _service_side(key):
        assert gaps == [] or True  # needed by the service, whatever our calls do
        return
    assert gaps, f"nothing the product does needs {key}: remove it from template.yaml (or explain it in SERVICE_SIDE)"


def test_service_side_statements_exist():
    keys = _statement_keys()
    for name in SERVICE_SIDE:
        assert any(k == name or k.endswith(f":{name}") for k in keys), f"stale SERVICE_SIDE entry {name}"
