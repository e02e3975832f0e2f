"""Job logs from CloudWatch Logs and job outputs from S3, against moto."""

from __future__ import annotations

import time

import boto3
import pytest
import requests

from sam_app.adapters.aws.cloudwatch_logs import CloudWatchJobLogs
from sam_app.adapters.aws.s3_outputs import S3JobOutputs
from sdaws.contract.errors import InvalidInput
from tests.support.aws_calls import made_in_this_test
from tests.support.aws_stack import REGION
from tests.support.job_record import job_record

JOB = "f" * 32
# CloudWatch (and moto) refuse events older than 14 days: log "a minute ago".
T0 = int(time.time() * 1000) - 60_000


def _log(group: str, stream: str, lines: list[tuple[int, str]]) -> None:
    logs = boto3.client("logs", region_name=REGION)
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(
        logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": T0 + t, "message": m} for t, m in lines]
    )


def test_processing_job_log_pages_through_without_repeats_even_within_one_millisecond(aws):
    # Three lines share a millisecond; pages of two must neither repeat nor skip one.
    lines = [(1000, "start"), (2000, '{"step": 1}'), (2000, '{"step": 2}'), (2000, '{"step": 3}'), (3000, "done")]
    _log("/aws/sagemaker/ProcessingJobs", f"sdaws-{JOB}/algo-1-1700000000", lines)
    _log("/aws/sagemaker/ProcessingJobs", "sdaws-someone-else/algo-1-1", [(1500, "not ours")])
    reader = CloudWatchJobLogs(boto3.client("logs", region_name=REGION))
    job = job_record(JOB, "merge", {"model_a": "a", "model_b": "b", "output_name": "m"}, status="RUNNING")

    seen, cursor = [], None
    for _ in range(10):
        page = reader.read(job, cursor, 2)
        seen += page.lines
        cursor = page.next_cursor
        if page.at_end:
            break
    assert seen == [m for _, m in lines]
    # Nothing new yet: same cursor, no lines; later lines continue from there.
    again = reader.read(job, cursor, 2)
    assert again.lines == [] and again.at_end
    _log("/aws/sagemaker/ProcessingJobs", f"sdaws-{JOB}/algo-1-1700000999", [(4000, "late line")])
    assert reader.read(job, cursor, 10).lines == ["late line"]


def test_logs_of_a_job_that_has_not_started_are_empty_and_bad_cursors_are_refused(aws):
    reader = CloudWatchJobLogs(boto3.client("logs", region_name=REGION))
    job = job_record(JOB, "train", {"base_model": "a", "steps": 1, "output_name": "l"}, status="STARTING")
    page = reader.read(job, None, 10)
    assert page.lines == [] and page.at_end
    with pytest.raises(InvalidInput, match="cursor is not valid"):
        reader.read(job, "../etc", 10)


def test_inference_logs_are_the_endpoint_lines_tagged_with_the_job_from_its_creation_on(aws):
    from datetime import UTC, datetime

    from sdaws.contract.job_log import tagged

    created = T0 + 10_000
    _log(
        "/aws/sagemaker/Endpoints/sdaws-default",
        "AllTraffic/i-0abc",
        [
            (5_000, tagged(JOB, "a line from before the job existed")),  # a clock oddity, or an id reused
            (11_000, tagged(JOB, '{"event": "progress", "step": 1, "total": 2}')),
            (12_000, tagged("e" * 32, f"another request, mentioning {JOB}")),
            (13_000, "sdaws serving on 0.0.0.0:8080"),
            (14_000, tagged(JOB, '{"event": "done"}')),
        ],
    )
    reader = CloudWatchJobLogs(boto3.client("logs", region_name=REGION), "sdaws-default")
    job = job_record(JOB, "txt2img", {"prompt": "x", "model": "m"}, status="RUNNING")
    job.created_at = datetime.fromtimestamp(created / 1000, UTC).isoformat()
    page = reader.read(job, None, 10)
    assert page.lines == ['{"event": "progress", "step": 1, "total": 2}', '{"event": "done"}']
    [search] = made_in_this_test("logs", "FilterLogEvents")
    assert search["startTime"] == created and search["filterPattern"] == f'"{JOB}"'


def test_outputs_are_discovered_and_downloadable(stack):
    s3 = boto3.client("s3", region_name=REGION)
    bucket = stack["bucket"]
    s3.put_object(Bucket=bucket, Key=f"jobs/{JOB}/output/images/00000-7.png", Body=b"\x89PNG-bytes")
    s3.put_object(Bucket=bucket, Key="diffusers/conv/model_index.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="diffusers/conv/unet/diffusion_pytorch_model.safetensors", Body=b"12345")
    outputs = S3JobOutputs(s3, bucket)

    image_job = job_record(JOB, "txt2img", {"prompt": "x", "model": "m"}, status="SUCCEEDED")
    found = outputs.discover(image_job)
    assert found == [
        {"type": "images", "name": "00000-7.png", "key": f"jobs/{JOB}/output/images/00000-7.png", "size": 10}
    ]
    image_job.outputs = found
    [listed] = outputs.list(image_job)
    assert requests.get(listed["url"], timeout=10).content == b"\x89PNG-bytes"  # moto answers requests in-process

    convert_job = job_record("1" * 32, "convert", {"model": "a.safetensors", "output_name": "conv"}, status="SUCCEEDED")
    convert_job.outputs = outputs.discover(convert_job)
    assert convert_job.outputs == [{"type": "diffusers", "name": "conv", "key": "diffusers/conv", "size": 7}]
    assert outputs.list(convert_job)[0]["url"] is None  # a folder has no single download
    assert (
        outputs.discover(job_record("2" * 32, "merge", {"model_a": "a", "model_b": "b", "output_name": "none"})) == []
    )
