"""The EventBridge rules in template.yaml route the sample events to their handlers.

Each rule's pattern is read from the template and installed in moto's EventBridge with
an SQS target; the sample event from events/ must arrive, another account's job must not.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from tests.support.aws_handlers import load_event
from tests.support.aws_stack import REGION, queue_with_arn
from tests.support.template_tables import load_template

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:sdaws-train"
BUCKET = "sdaws-models"  # the bucket events/s3_object_created.json names


def rule_patterns() -> dict[str, dict]:
    patterns = {}
    for logical_id, resource in load_template()["Resources"].items():
        for name, event in (resource.get("Properties", {}).get("Events") or {}).items():
            if event["Type"] == "EventBridgeRule":
                patterns[f"{logical_id}.{name}"] = event["Properties"]["Pattern"]
    return patterns


def _resolve(value):
    """The template's !Ref TrainStateMachine is the machine's ARN once deployed."""
    if isinstance(value, dict):
        if value == {"Ref": "TrainStateMachine"}:
            return STATE_MACHINE_ARN
        if value.get("If", [None])[0] == "CreateBucket":  # the model bucket, created by the stack
            return BUCKET
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def delivered(rule: str, event: dict) -> bool:
    """Whether the rule passes `event` on (a fresh rule and queue for every call)."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    name = f"r{uuid.uuid4().hex[:12]}"
    queue, arn = queue_with_arn(sqs, name)
    events.put_rule(Name=name, EventPattern=json.dumps(_resolve(rule_patterns()[rule])))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Resources": event["resources"],
                "Detail": json.dumps(event["detail"]),
            }
        ]
    )
    got = bool(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"))
    events.remove_targets(Rule=name, Ids=["q"])
    events.delete_rule(Name=name)  # or it would also route the next call's event
    return got


@pytest.mark.parametrize(
    "rule, sample, name_field",
    [
        (
            "SageMakerEventsFunction.ProcessingJobStateChange",
            "sagemaker_processing_completed.json",
            "ProcessingJobName",
        ),
        ("SageMakerEventsFunction.TrainingJobStateChange", "sagemaker_training_in_progress.json", "TrainingJobName"),
    ],
)
def test_sagemaker_rules_take_sdaws_jobs_only(aws, rule, sample, name_field):
    assert delivered(rule, load_event(sample))
    foreign = load_event(sample)
    foreign["detail"][name_field] = "someone-elses-job"
    assert not delivered(rule, foreign)


def test_training_execution_rule_takes_deaths_of_this_machine_only(aws):
    rule = "TrainStepsFunction.TrainingExecutionEnded"
    event = load_event("sfn_execution_timed_out.json")
    assert event["detail"]["stateMachineArn"] == STATE_MACHINE_ARN
    assert delivered(rule, event)
    succeeded = load_event("sfn_execution_timed_out.json")
    succeeded["detail"]["status"] = "SUCCEEDED"
    assert not delivered(rule, succeeded)


def test_the_hash_rule_takes_object_created_in_the_model_bucket_only(aws):
    rule = "ModelHashFunction.ModelObjectCreated"
    event = load_event("s3_object_created.json")
    assert event["detail"]["bucket"]["name"] == BUCKET
    assert delivered(rule, event)
    elsewhere = load_event("s3_object_created.json")
    elsewhere["detail"]["bucket"]["name"] = "someone-elses-bucket"
    assert not delivered(rule, elsewhere)
    deleted = load_event("s3_object_created.json")
    deleted["detail-type"] = "Object Deleted"
    assert not delivered(rule, deleted)
