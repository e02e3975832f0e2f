"""Calling the event handlers as Lambda would, with their sink on the moto stack."""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3

from sam_app.adapters.aws.job_event_sink import JobEventSink
from sam_app.adapters.aws.s3_outputs import S3JobOutputs
from tests.support.aws_stack import REGION
from tests.support.env import REPO_ROOT
from tests.support.job_records import job_records

EVENTS = REPO_ROOT / "events"
EVENT_JOB_ID = "018f3c2a9b7e4d5c6b7a8f9e0d1c2b3a"  # the job the sample events name


@dataclass
class LambdaContext:
    function_name: str = "sdaws-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sdaws-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def load_event(name: str, job_id: str = EVENT_JOB_ID) -> dict:
    """A sample event from events/, re-aimed at `job_id`."""
    return json.loads((EVENTS / name).read_text().replace(EVENT_JOB_ID, job_id))


def build_sink(stack) -> JobEventSink:
    table = boto3.resource("dynamodb", region_name=REGION).Table(stack["jobs_table"])
    s3 = boto3.client("s3", region_name=REGION)
    return JobEventSink(
        job_records(table),
        S3JobOutputs(s3, stack["bucket"]),
        boto3.client("sns", region_name=REGION),
        stack["topic_arn"],
    )


def wire_handlers(monkeypatch, stack) -> JobEventSink:
    """Point every event handler at one sink on the moto stack (deployed: sink_from_environment)."""
    from sam_app.handlers import async_inference, status_change

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    sink = build_sink(stack)
    for module in (status_change, async_inference):
        monkeypatch.setattr(module, "sink", lambda: sink)
    return sink
