"""GET /jobs on AWS: newest first, page by page, filtered, from one Query of the JobsTable's
newest-first index. No Scan anywhere: a Scan of a growing table is slow and costly, and
the API function is not allowed one (template.yaml)."""

from __future__ import annotations

import boto3
import pytest

from sam_app.adapters.aws.dynamo_jobs import DynamoJobRecords
from sam_app.core.jobs_service import new_job_id
from tests.support.job_record import job_record


class ScanCalled(AssertionError):
    pass


@pytest.fixture
def no_scan(monkeypatch):
    """Fail the moment any DynamoDB client in this test scans."""
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def guarded(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb" and operation_name == "Scan":
            raise ScanCalled(f"Scan called with {api_params}")
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", guarded)


@pytest.fixture
def seven_jobs(compute_api):
    call, env = compute_api
    records = DynamoJobRecords(boto3.resource("dynamodb").Table(env["JOBS_TABLE"]))
    ids = []
    for i in range(7):
        kind = "merge" if i % 2 else "convert"
        record = job_record(new_job_id(), kind, {"output_name": f"out{i}"}, status="SUCCEEDED" if i < 4 else "QUEUED")
        records.put_new(record)
        ids.append(record.job_id)
    return call, list(reversed(ids))  # newest first


def test_jobs_page_newest_first_with_a_cursor_and_never_scan(seven_jobs, no_scan):
    call, newest_first = seven_jobs
    seen, cursor = [], None
    while True:
        status, page = call("GET", "/jobs", query={"limit": "3", **({"cursor": cursor} if cursor else {})})
        assert status == 200, page
        seen += [job["job_id"] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first


@pytest.mark.parametrize(
    "query, wanted",
    [
        ({"status": "QUEUED"}, [0, 1, 2]),
        ({"kind": "merge"}, [1, 3, 5]),
        ({"status": "SUCCEEDED", "kind": "convert"}, [4, 6]),
    ],
)
def test_filters_apply_across_pages(seven_jobs, no_scan, query, wanted):
    call, newest_first = seven_jobs
    status, page = call("GET", "/jobs", query=query | {"limit": "2"})
    assert status == 200 and [j["job_id"] for j in page["jobs"]] == [newest_first[i] for i in wanted[:2]]
    if len(wanted) > 2:
        rest = call("GET", "/jobs", query=query | {"limit": "2", "cursor": page["next_cursor"]})[1]
        assert [j["job_id"] for j in rest["jobs"]] == [newest_first[i] for i in wanted[2:]]
        assert rest["next_cursor"] is None
    else:
        assert page["next_cursor"] is None
