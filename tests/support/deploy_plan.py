"""What CloudFormation does, as the deployer role, to create, update and delete the stack.

template.yaml is expanded by the SAM translator (samtranslator, what `sam deploy`'s
transform runs), so the resources SAM adds (roles, permissions, event rules, stages …)
are there. Each resource gets the physical name CloudFormation gives it: its explicit
name property, else the generated "<stack>-<LogicalId>-<random>" (lowercase for
buckets, ids for API Gateway). Each resource type needs the actions in ACTIONS on its
ARN (from the Service Authorization Reference and the CloudFormation resource handlers'
"permissions" lists), plus whatever a property adds (a role to pass, a log delivery).
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

from tests.support.env import REPO_ROOT
from tests.support.iam_policy import Need

STACK = "sdaws"
ACCOUNT = "123456789012"
REGION = "us-east-1"
RANDOM = "1A2B3C4D5E6F"

# type -> (actions for create, update and delete; how the ARN is built from the physical name)
ACTIONS: dict[str, tuple[list[str], str]] = {
    "AWS::Lambda::Function": (
        [
            "lambda:CreateFunction",
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:DeleteFunction",
            "lambda:TagResource",
            "lambda:ListTags",
        ],
        "arn:aws:lambda:{region}:{account}:function:{name}",
    ),
    "AWS::Lambda::Permission": (
        ["lambda:AddPermission", "lambda:RemovePermission"],
        "arn:aws:lambda:{region}:{account}:function:{name}",
    ),
    "AWS::Lambda::LayerVersion": (
        ["lambda:PublishLayerVersion", "lambda:GetLayerVersion", "lambda:DeleteLayerVersion"],
        "arn:aws:lambda:{region}:{account}:layer:{name}:1",
    ),
    "AWS::IAM::Role": (
        [
            "iam:CreateRole",
            "iam:GetRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePolicy",
            "iam:GetRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:DetachRolePolicy",
            "iam:TagRole",
            "iam:DeleteRole",
        ],
        "arn:aws:iam::{account}:role/{name}",
    ),
    "AWS::DynamoDB::Table": (
        [
            "dynamodb:CreateTable",
            "dynamodb:DescribeTable",
            "dynamodb:UpdateTable",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:DescribeTimeToLive",
            "dynamodb:UpdateContinuousBackups",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:TagResource",
            "dynamodb:ListTagsOfResource",
            "dynamodb:DeleteTable",
        ],
        "arn:aws:dynamodb:{region}:{account}:table/{name}",
    ),
    # Retained on delete (DeletionPolicy), so no DeleteBucket.
    "AWS::S3::Bucket": (
        [
            "s3:CreateBucket",
            "s3:PutBucketVersioning",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketOwnershipControls",
            "s3:PutBucketCORS",
            "s3:PutLifecycleConfiguration",
            "s3:PutBucketTagging",
            "s3:GetBucketLocation",
        ],
        "arn:aws:s3:::{name}",
    ),
    "AWS::S3::BucketPolicy": (
        ["s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy"],
        "arn:aws:s3:::{name}",
    ),
    "AWS::SNS::Topic": (
        [
            "sns:CreateTopic",
            "sns:GetTopicAttributes",
            "sns:SetTopicAttributes",
            "sns:TagResource",
            "sns:ListTagsForResource",
            "sns:Subscribe",
            "sns:DeleteTopic",
        ],
        "arn:aws:sns:{region}:{account}:{name}",
    ),
    "AWS::SNS::TopicPolicy": (
        ["sns:SetTopicAttributes", "sns:GetTopicAttributes"],
        "arn:aws:sns:{region}:{account}:{name}",
    ),
    "AWS::SNS::Subscription": (
        ["sns:Subscribe", "sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes"],
        "arn:aws:sns:{region}:{account}:{name}",
    ),
    "AWS::SQS::Queue": (
        [
            "sqs:CreateQueue",
            "sqs:GetQueueAttributes",
            "sqs:SetQueueAttributes",
            "sqs:TagQueue",
            "sqs:ListQueueTags",
            "sqs:DeleteQueue",
        ],
        "arn:aws:sqs:{region}:{account}:{name}",
    ),
    "AWS::Logs::LogGroup": (
        [
            "logs:CreateLogGroup",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:TagResource",
            "logs:ListTagsForResource",
            "logs:DeleteLogGroup",
        ],
        "arn:aws:logs:{region}:{account}:log-group:{name}",
    ),
    "AWS::Events::Rule": (
        [
            "events:PutRule",
            "events:DescribeRule",
            "events:PutTargets",
            "events:RemoveTargets",
            "events:ListTargetsByRule",
            "events:DeleteRule",
        ],
        "arn:aws:events:{region}:{account}:rule/{name}",
    ),
    "AWS::StepFunctions::StateMachine": (
        [
            "states:CreateStateMachine",
            "states:DescribeStateMachine",
            "states:UpdateStateMachine",
            "states:TagResource",
            "states:ListTagsForResource",
            "states:DeleteStateMachine",
        ],
        "arn:aws:states:{region}:{account}:stateMachine:{name}",
    ),
    "AWS::ApiGateway::RestApi": (
        ["apigateway:POST", "apigateway:GET", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"],
        "arn:aws:apigateway:{region}::/restapis/{name}",
    ),
    "AWS::ApiGateway::Deployment": (
        ["apigateway:POST", "apigateway:GET", "apigateway:DELETE"],
        "arn:aws:apigateway:{region}::/restapis/{name}/deployments",
    ),
    "AWS::ApiGateway::Stage": (
        ["apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"],
        "arn:aws:apigateway:{region}::/restapis/{name}/stages/v1",
    ),
    "AWS::ApiGateway::ApiKey": (
        ["apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"],
        "arn:aws:apigateway:{region}::/apikeys/{name}",
    ),
    "AWS::ApiGateway::UsagePlan": (
        ["apigateway:POST", "apigateway:GET", "apigateway:PATCH", "apigateway:DELETE"],
        "arn:aws:apigateway:{region}::/usageplans/{name}",
    ),
    "AWS::ApiGateway::UsagePlanKey": (
        ["apigateway:POST", "apigateway:GET", "apigateway:DELETE"],
        "arn:aws:apigateway:{region}::/usageplans/{name}/keys",
    ),
    "AWS::ApiGateway::Account": (["apigateway:GET", "apigateway:PATCH"], "arn:aws:apigateway:{region}::/account"),
}
# Explicit-name property of a type (else CloudFormation generates one).
NAME_PROPERTY = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Lambda::LayerVersion": "LayerName",
    "AWS::IAM::Role": "RoleName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Events::Rule": "Name",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
}
# The state machine's CloudWatch Logs delivery: no resource-level permissions.
LOG_DELIVERY = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]


class _PolicyNames:
    def load(self) -> dict[str, str]:
        return {
            "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
            "AWSXrayWriteOnlyAccess": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        }


def transformed_template() -> dict:
    """template.yaml after the SAM transform, local code paths standing in as S3 objects."""
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse((REPO_ROOT / "template.yaml").read_text())
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for field in ("CodeUri", "ContentUri", "DefinitionUri"):
            if field in props:
                props[field] = f"s3://artifacts/{field.lower()}"
    region = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = REGION  # the translator asks boto for a region
    try:
        return transform(copy.deepcopy(template), {}, _PolicyNames())
    finally:
        if region is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = region


def _text(value) -> str | None:
    """A name property's value with the stack's pseudo parameters filled in."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return value["Fn::Sub"].replace("${AWS::StackName}", STACK).replace("${AWS::Region}", REGION)
    return None


@dataclass(frozen=True)
class Planned:
    logical_id: str
    type: str
    name: str

    def needs(self) -> list[Need]:
        actions, arn = ACTIONS[self.type]
        resource = arn.format(region=REGION, account=ACCOUNT, name=self.name)
        return [Need(a, resource) for a in actions]


def physical_name(logical_id: str, resource: dict, resources: dict) -> str:
    kind = resource["Type"]
    props = resource.get("Properties") or {}
    explicit = _text(props.get(NAME_PROPERTY.get(kind, ""), None))
    if explicit:
        return explicit
    if kind.startswith("AWS::ApiGateway::") and kind != "AWS::ApiGateway::Account":
        return "a1b2c3d4e5"  # API Gateway ids are random
    if kind == "AWS::Lambda::Permission":
        target = props["FunctionName"]
        target_id = target.get("Ref") or target.get("Fn::GetAtt", [""])[0]
        return physical_name(target_id, resources[target_id], resources)
    if kind in ("AWS::SNS::Subscription", "AWS::SNS::TopicPolicy"):
        topic = props.get("TopicArn") or props.get("Topics", [None])[0]
        topic_id = topic["Ref"]
        return physical_name(topic_id, resources[topic_id], resources)
    if kind == "AWS::S3::BucketPolicy":
        bucket_id = props["Bucket"]["Ref"]
        return physical_name(bucket_id, resources[bucket_id], resources)
    if kind == "AWS::StepFunctions::StateMachine":
        return f"{logical_id}-{RANDOM}"  # CloudFormation leaves the stack name out here
    if kind == "AWS::S3::Bucket":
        return f"{STACK}-{logical_id}-{RANDOM}".lower()[:63]
    limit = {"AWS::IAM::Role": 64, "AWS::Lambda::Function": 64, "AWS::Events::Rule": 64, "AWS::SQS::Queue": 80}.get(
        kind, 256
    )
    return f"{STACK}-{logical_id}"[: limit - len(RANDOM) - 1] + f"-{RANDOM}"


def plan() -> tuple[list[Planned], list[Need]]:
    """Every resource with its physical name, and the needs properties add."""
    template = transformed_template()
    resources = template["Resources"]
    planned, extra = [], []
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        if kind not in ACTIONS:
            raise KeyError(
                f"{logical_id}: no deploy permissions known for {kind}; add it to tests/support/deploy_plan.py"
            )
        item = Planned(logical_id, kind, physical_name(logical_id, resource, resources))
        planned.append(item)
        props = resource.get("Properties") or {}
        role = props.get("Role") or props.get("RoleArn") or props.get("CloudWatchRoleArn")
        if isinstance(role, dict) and "Fn::GetAtt" in role:
            role_id = role["Fn::GetAtt"][0]
            role_name = physical_name(role_id, resources[role_id], resources)
            service = {
                "AWS::Lambda::Function": "lambda.amazonaws.com",
                "AWS::StepFunctions::StateMachine": "states.amazonaws.com",
                "AWS::ApiGateway::Account": "apigateway.amazonaws.com",
            }[kind]
            extra.append(
                Need("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/{role_name}", (("iam:PassedToService", service),))
            )
        for policy_arn in props.get("ManagedPolicyArns") or []:
            arn = policy_arn if isinstance(policy_arn, str) else _text(policy_arn).replace("${AWS::Partition}", "aws")
            extra.append(
                Need("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{item.name}", (("iam:PolicyARN", arn),))
            )
        if kind == "AWS::StepFunctions::StateMachine" and props.get("LoggingConfiguration"):
            extra += [Need(a, "*") for a in LOG_DELIVERY]
    return planned, extra


def cloudformation_needs() -> list[Need]:
    """What `sam deploy` / `sam delete` ask of CloudFormation and the artifact bucket."""
    stack = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/abc"
    actions = [
        "CreateChangeSet",
        "DescribeChangeSet",
        "ExecuteChangeSet",
        "DescribeStacks",
        "DescribeStackEvents",
        "GetTemplate",
        "DeleteStack",
    ]
    needs = [Need(f"cloudformation:{a}", stack) for a in actions]
    needs.append(
        Need("cloudformation:CreateChangeSet", f"arn:aws:cloudformation:{REGION}:aws:transform/Serverless-2016-10-31")
    )
    artifacts = "aws-sam-cli-managed-default-samclisourcebucket-abc123"
    needs.append(Need("s3:PutObject", f"arn:aws:s3:::{artifacts}/{STACK}/0123abcd.template"))
    needs.append(Need("s3:GetObject", f"arn:aws:s3:::{artifacts}/{STACK}/0123abcd.template"))
    return needs
