"""The whole AWS path, end to end, offline: the real client -> the API Lambda handler
(behind an HTTP front, tests/support/gateway.py) on moto -> the launcher -> the job
image's CPU twin run as SageMaker runs it -> the event handlers with the events
SageMaker, SNS and Step Functions send -> the job as the client sees it.

moto runs as a container on a docker network (tests/support/sagemaker_world.py), so the
job containers reach the same S3 the API uses; the training state machine runs in moto's
interpreter there.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import pytest

from sdaws.client.api import ApiClient
from tests.support.api_world import TOKEN
from tests.support.aws_handlers import LambdaContext
from tests.support.aws_stack import queue_with_arn
from tests.support.gateway import GatewayServer
from tests.support.job_api_calls import fresh_api
from tests.support.sagemaker_world import JobWorld


@dataclass
class AwsEndToEnd:
    world: JobWorld
    client: ApiClient
    inbox: str  # an SQS queue subscribed to the notification topic: the user's mail

    def deliver_sagemaker_event(self, detail_type: str, detail: dict) -> dict:
        """EventBridge -> SageMakerEventsFunction, as the rule in template.yaml forwards it."""
        from sam_app.handlers import sagemaker_events

        return sagemaker_events.handler(_eventbridge(detail_type, detail), LambdaContext())

    def deliver_endpoint_event(self, endpoint: str, status: str) -> dict:
        from sam_app.handlers import endpoint_events

        detail = {"EndpointName": endpoint, "EndpointStatus": status, "Tags": {}}
        return endpoint_events.handler(_eventbridge("SageMaker Endpoint State Change", detail), LambdaContext())

    def deliver_inference_notice(self, topic_arn: str, notice: dict) -> dict:
        """SNS -> AsyncInferenceFunction: the Lambda event SNS makes of SageMaker's message."""
        from sam_app.handlers import async_inference

        record = {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
            "Sns": {
                "Type": "Notification",
                "MessageId": str(uuid.uuid4()),
                "TopicArn": topic_arn,
                "Subject": None,
                "Message": json.dumps(notice),
                "Timestamp": "2026-11-23T12:00:00.000Z",
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {},
            },
        }
        return async_inference.handler({"Records": [record]}, LambdaContext())

    def wait_for(self, job_id: str, statuses: tuple[str, ...], attempts: int = 600) -> dict:
        """Poll the job through the client, as `sdaws jobs watch` does (a readiness loop)."""
        for _ in range(attempts):
            job = self.client.get_job(job_id)
            if job["status"] in statuses:
                return job
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} stayed {job['status']}")

    def mail(self) -> list[str]:
        sqs = self.world.client("sqs")
        got = sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"])["Message"] for m in got]


def _eventbridge(detail_type: str, detail: dict) -> dict:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-11-23T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


@pytest.fixture
def aws_end_to_end(job_world, tiny_sd):
    from sam_app.adapters.aws import endpoint_events, job_event_sink

    fresh_api()
    endpoint_events.shared_events.cache_clear()
    job_event_sink.shared_sink.cache_clear()
    s3 = job_world.client("s3")
    for path in tiny_sd.rglob("*"):  # a converted model in the tree (diffusers/tiny-sd)
        if path.is_file():
            s3.upload_file(str(path), job_world.bucket, f"diffusers/tiny-sd/{path.relative_to(tiny_sd).as_posix()}")
    sqs, sns = job_world.client("sqs"), job_world.client("sns")
    inbox, arn = queue_with_arn(sqs, "inbox")
    sns.subscribe(TopicArn=job_world.env["TOPIC_ARN"], Protocol="sqs", Endpoint=arn)
    import sam_app.handlers.api as api

    gateway = GatewayServer(api.handler)
    client = ApiClient(gateway.url, TOKEN)
    yield AwsEndToEnd(job_world, client, inbox)
    client.close()
    gateway.stop()
    fresh_api()
    endpoint_events.shared_events.cache_clear()
    job_event_sink.shared_sink.cache_clear()
