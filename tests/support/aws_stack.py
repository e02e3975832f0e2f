"""moto-backed AWS for the compute tests: bucket, template tables, topic, one account."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from tests.support import deployed
from tests.support.moto_env import use_fake_aws
from tests.support.template_tables import create_tables

REGION = "us-east-1"
BUCKET = "sdaws-compute-test"
ROLE_ARN = "arn:aws:iam::123456789012:role/sdaws-sagemaker"


@pytest.fixture
def aws(monkeypatch):
    """Region and dummy credentials; moto intercepts every boto3 call inside."""
    use_fake_aws(monkeypatch)  # its region is REGION
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


def bucket_and_tables(bucket: str, keys: tuple[str, ...] = (), body: bytes = b"x"):
    """Inside moto: `bucket` holding `keys` (each object `body`) and the template's tables;
    (the S3 client, the table names)."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return s3, create_tables(boto3.client("dynamodb", region_name=REGION))


def queue_with_arn(sqs, name: str) -> tuple[str, str]:
    """A new SQS queue: its URL (to read it) and its ARN (to subscribe it or make it a target)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@pytest.fixture
def stack(aws):
    """What template.yaml would create for the compute side, named like a deploy."""
    _, tables = bucket_and_tables(BUCKET)
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="sdaws-notify")["TopicArn"]
    # An SQS subscriber stands in for the e-mail inbox: what SNS delivers can be read back.
    queue_url, queue_arn = queue_with_arn(boto3.client("sqs", region_name=REGION), "inbox")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    deployed.register_bucket("ModelBucket", BUCKET)
    deployed.register_topic("NotificationTopic", topic)
    deployed.register_role("SageMakerExecutionRole", ROLE_ARN)
    return {
        "bucket": BUCKET,
        "jobs_table": tables["JobsTable"],
        "topic_arn": topic,
        "inbox": queue_url,
        "role_arn": ROLE_ARN,
    }


def inbox_messages(stack) -> list[dict]:
    """Everything SNS delivered to the stand-in inbox (subject and text)."""
    sqs = boto3.client("sqs", region_name=REGION)
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=stack["inbox"], MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for message in got:
            body = json.loads(message["Body"])
            out.append({"subject": body.get("Subject"), "message": body.get("Message")})
            sqs.delete_message(QueueUrl=stack["inbox"], ReceiptHandle=message["ReceiptHandle"])


def put_job(stack, job_id: str, status: str = "STARTING", kind: str = "train") -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=stack["jobs_table"],
        Item={"job_id": {"S": job_id}, "status": {"S": status}, "kind": {"S": kind}},
    )


def job_item(stack, job_id: str) -> dict:
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=stack["jobs_table"], Key={"job_id": {"S": job_id}}
    )["Item"]
    return {k: next(iter(v.values())) for k, v in item.items()}


JOB_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/sdaws-jobs:latest"


def launch_clients() -> list:
    """The clients SageMakerLauncher takes, in its order."""
    return [boto3.client(s, region_name=REGION) for s in ("sagemaker", "sagemaker-runtime", "stepfunctions", "s3")]


def stack_launcher(stack, **settings):
    """(SageMakerLauncher over the test stack with its training state machine, the job records);
    `settings` override LauncherSettings' test defaults."""
    from sam_app.adapters.aws.sagemaker_launcher import LauncherSettings, SageMakerLauncher
    from tests.support.job_records import job_records
    from tests.support.state_machine import create_machine

    records = job_records(boto3.resource("dynamodb", region_name=REGION).Table(stack["jobs_table"]))
    values = {
        "bucket": stack["bucket"],
        "image_uri": JOB_IMAGE,
        "role_arn": stack["role_arn"],
        "util_instance_type": "ml.c6i.2xlarge",
        "train_instance_type": "ml.g5.xlarge",
        "state_machine_arn": create_machine(stack),
        "endpoint_name": "sdaws-default",
        "poll_seconds": 0,
    }
    return SageMakerLauncher(*launch_clients(), LauncherSettings(**(values | settings)), records=records), records
