"""The training state machine as template.yaml deploys it, created in moto."""

from __future__ import annotations

import json
import time

import boto3

from tests.support import deployed
from tests.support.aws_stack import REGION
from tests.support.env import REPO_ROOT

ASL = REPO_ROOT / "sam_app" / "statemachines" / "train.asl.json"


def definition(stack: dict) -> str:
    """The ASL with its DefinitionSubstitutions filled in, as CloudFormation would."""
    text = ASL.read_text()
    for name, value in {
        "Partition": "aws",
        "SageMakerRoleArn": stack["role_arn"],
        "ModelBucketName": stack["bucket"],
        "JobsTableName": stack["jobs_table"],
        "NotificationTopicArn": stack["topic_arn"],
    }.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text, "a placeholder of train.asl.json has no substitution"
    return text


def create_machine(stack: dict) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name="sdaws-train", definition=definition(stack), roleArn="arn:aws:iam::123456789012:role/sdaws-sfn"
    )["stateMachineArn"]
    deployed.register_state_machine("TrainStateMachine", arn)
    return arn


def run_to_end(execution_arn: str) -> dict:
    """Wait for moto's interpreter to finish the execution (it runs in a thread)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for _ in range(600):
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    raise AssertionError(f"execution still RUNNING: {execution_arn}")


def state_names(execution_arn: str) -> list[str]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def start(machine_arn: str, payload: dict, name: str) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps(payload))["executionArn"]
