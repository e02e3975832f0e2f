"""Template rules a first deploy depends on, read from template.yaml and the ASL file:
short retention of deleted models, ECR pull of the job repository only, no hard-coded
partition or URL suffix, log levels Lambda understands, the optional account-wide API
Gateway log role, and Step Functions error names that the integrations really raise."""

from __future__ import annotations

import json
import re

import botocore.session
import pytest

from tests.support.env import REPO_ROOT
from tests.support.iam_policy import Resolver
from tests.support.template_tables import load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
ASL = REPO_ROOT / "sam_app" / "statemachines" / "train.asl.json"
# Names of AWS services (principals, service-linked roles) are the same in every partition.
SERVICE_NAME = re.compile(r"\b[a-z-]+(\.application-autoscaling)?\.amazonaws\.com\b")


def _statement(logical_id: str, sid: str) -> dict:
    for policy in RESOURCES[logical_id]["Properties"]["Policies"]:
        for statement in policy.get("PolicyDocument", policy).get("Statement", []):
            if statement.get("Sid") == sid:
                return statement
    raise KeyError(sid)


def test_deleted_models_are_kept_a_short_configurable_time():
    parameter = TEMPLATE["Parameters"]["DeletedModelRetentionDays"]
    assert parameter["Default"] <= 7
    [rule] = [
        r
        for r in RESOURCES["ModelBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        if "NoncurrentVersionExpiration" in r
    ]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == {"Ref": "DeletedModelRetentionDays"}
    assert "DeletedModelRetentionDays" in (REPO_ROOT / "README.md").read_text()


@pytest.mark.parametrize(
    "image, partition, repository",
    [
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/sdaws-jobs:abc123",
            "aws",
            "arn:aws:ecr:us-east-1:123456789012:repository/sdaws-jobs",
        ),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/sdaws-jobs@sha256:" + "0" * 64,
            "aws",
            "arn:aws:ecr:us-east-1:123456789012:repository/team/sdaws-jobs",
        ),
        (
            "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/sdaws-jobs:v1",
            "aws-cn",
            "arn:aws-cn:ecr:cn-north-1:210987654321:repository/sdaws-jobs",
        ),
    ],
)
def test_the_execution_role_pulls_only_the_job_image_repository(image, partition, repository):
    region = repository.split(":")[3]
    resolver = Resolver(TEMPLATE, {"JobImageUri": image}, {"AWS::Partition": partition, "AWS::Region": region})
    assert resolver.strings(_statement("SageMakerExecutionRole", "PullJobImage")["Resource"]) == [repository]


def test_an_empty_job_image_still_resolves_to_a_harmless_arn():
    resolver = Resolver(TEMPLATE, {"JobImageUri": ""})
    [arn] = resolver.strings(_statement("SageMakerExecutionRole", "PullJobImage")["Resource"])
    assert arn.endswith(":repository/none")


@pytest.mark.parametrize(
    "path", ["template.yaml", "sam_app/statemachines/train.asl.json", "sam_app/deployer_role.yaml"]
)
def test_no_hard_coded_partition_or_url_suffix(path):
    text = (REPO_ROOT / path).read_text()
    code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
    code = code.replace(
        "ConstraintDescription: an ECR image URI (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG) or empty", ""
    )
    code = re.sub(r"AllowedPattern: .*", "", code)  # patterns accept every partition on purpose
    code = code.replace('".amazonaws.com/"', "").replace('".amazonaws.com.cn/"', "")  # the ECR URI split
    code = code.replace("${JobImageUri}.amazonaws.com/none", "").replace("${JobImageUri}.amazonaws.com.cn/none", "")
    assert "arn:aws:" not in code
    assert SERVICE_NAME.sub("", code).count("amazonaws.com") == 0


def test_asl_resources_take_the_partition_from_the_template():
    definition = json.loads(ASL.read_text())
    resources = [s["Resource"] for s in definition["States"].values() if "Resource" in s]
    assert resources and all(r.startswith("arn:${Partition}:states:::") for r in resources)
    assert RESOURCES["TrainStateMachine"]["Properties"]["DefinitionSubstitutions"]["Partition"] == {
        "Ref": "AWS::Partition"
    }


def test_function_log_level_reaches_lambda_in_its_spelling():
    lambda_levels = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}
    mapping = TEMPLATE["Mappings"]["LambdaLogLevel"]
    assert set(mapping) == set(TEMPLATE["Parameters"]["LogLevel"]["AllowedValues"])
    assert {v["Level"] for v in mapping.values()} <= lambda_levels
    functions = [r for r in RESOURCES.values() if r["Type"] == "AWS::Serverless::Function"]
    for function in functions:
        logging = function["Properties"]["LoggingConfig"]
        assert logging["ApplicationLogLevel"] == {"FindInMap": ["LambdaLogLevel", {"Ref": "LogLevel"}, "Level"]}


def test_the_account_wide_api_gateway_log_role_is_optional():
    choices = TEMPLATE["Parameters"]["ApiAccessLogging"]["AllowedValues"]
    assert choices == ["create-account-role", "use-account-role", "off"]
    assert RESOURCES["ApiGatewayAccount"]["Condition"] == "SetAccountLogRole"
    assert RESOURCES["ApiGatewayCloudWatchRole"]["Condition"] == "SetAccountLogRole"
    assert "DependsOn" not in RESOURCES["Api"]  # a DependsOn on a conditional resource breaks the other choices
    props = RESOURCES["Api"]["Properties"]
    assert props["AccessLogSetting"]["If"][0] == "WriteAccessLogs"
    # The stage still waits for the account setting when this stack makes it.
    assert props["Tags"]["sdaws:access-logging"]["If"][1] == {"Ref": "ApiGatewayAccount"}


# ------------------------------------------------------------------ Step Functions errors
_SERVICE_NAMES = {"sagemaker": "SageMaker", "s3": "S3", "dynamodb": "DynamoDB", "sns": "SNS"}
_BUILTIN = {"States.ALL", "States.TaskFailed", "States.Timeout", "States.Permissions", "States.HeartbeatTimeout"}


def _integration(resource: str) -> tuple[str, str]:
    """('sagemaker', 'CreateTrainingJob') of arn:...:states:::aws-sdk:sagemaker:createTrainingJob
    or of an optimized integration (arn:...:states:::dynamodb:updateItem)."""
    parts = resource.split(":::", 1)[1].split(":")
    service, action = (parts[1], parts[2]) if parts[0] == "aws-sdk" else (parts[0], parts[1])
    return service, action[0].upper() + action[1:]


def _real_errors(service: str, operation: str) -> set[str]:
    """What Step Functions calls the errors of this API: ServiceName.ErrorName, the name with
    an "Exception" suffix even where the service's own name has none."""
    session = botocore.session.get_session()
    model = session.get_service_model(service).operation_model(operation)
    names = {shape.name for shape in model.error_shapes} | {"ThrottlingException"}  # throttling: every API
    return {f"{_SERVICE_NAMES[service]}.{n if n.endswith('Exception') else n + 'Exception'}" for n in names}


def _error_names():
    definition = json.loads(ASL.read_text())
    for name, state in definition["States"].items():
        for handler in state.get("Retry", []) + state.get("Catch", []):
            for error in handler["ErrorEquals"]:
                yield name, state.get("Resource"), error


@pytest.mark.parametrize("state, resource, error", list(_error_names()), ids=lambda v: str(v)[:40])
def test_retry_and_catch_name_errors_the_integration_really_raises(state, resource, error):
    if error.startswith("States."):
        assert error in _BUILTIN
        return
    service, operation = _integration(resource)
    assert error in _real_errors(service, operation), f"{state}: {error} is not an error of {service}:{operation}"
