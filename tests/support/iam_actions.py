"""Which IAM permissions an AWS API call needs: its own action on its resource, plus what
the service checks on the caller besides (iam:PassRole for a role it is given, AddTags
for tags at creation, and Application Auto Scaling's checks on SageMaker and CloudWatch).

Sources: the Service Authorization Reference (actions, resource types, condition keys)
and Application Auto Scaling's "Permissions required for API actions on target services
and CloudWatch" (SageMaker endpoints: sagemaker:DescribeEndpoint,
DescribeEndpointConfig, UpdateEndpointWeightsAndCapacities, cloudwatch:DescribeAlarms,
PutMetricAlarm, DeleteAlarms; target tracking names its alarms TargetTracking-…).
A call no rule here knows is an error: add its rule rather than let it pass unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from tests.support.deployed import ACCOUNT
from tests.support.iam_policy import Need

SAGEMAKER = "sagemaker.amazonaws.com"


class UnmappedCall(KeyError):
    pass


def _s3_object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def _s3(op: str, p: dict, region: str) -> list[Need]:
    bucket = p.get("Bucket", "")
    bucket_arn = f"arn:aws:s3:::{bucket}"
    obj = _s3_object(bucket, p.get("Key", ""))
    simple = {
        "ListObjectsV2": ("s3:ListBucket", bucket_arn),
        "ListObjects": ("s3:ListBucket", bucket_arn),
        "HeadBucket": ("s3:ListBucket", bucket_arn),
        "ListMultipartUploads": ("s3:ListBucketMultipartUploads", bucket_arn),
        "GetObject": ("s3:GetObjectVersion" if p.get("VersionId") else "s3:GetObject", obj),
        "HeadObject": ("s3:GetObject", obj),
        "PutObject": ("s3:PutObject", obj),
        "CreateMultipartUpload": ("s3:PutObject", obj),
        "UploadPart": ("s3:PutObject", obj),
        "CompleteMultipartUpload": ("s3:PutObject", obj),
        "AbortMultipartUpload": ("s3:AbortMultipartUpload", obj),
        "ListParts": ("s3:ListMultipartUploadParts", obj),
        "DeleteObject": ("s3:DeleteObject", obj),
    }
    if op in simple:
        action, resource = simple[op]
        return [Need(action, resource)]
    if op == "CopyObject":
        source = p["CopySource"]
        if isinstance(source, dict):
            src_bucket, src_key = source["Bucket"], source["Key"]
        else:
            src_bucket, _, src_key = unquote(source.lstrip("/")).partition("/")
        return [Need("s3:GetObject", _s3_object(src_bucket, src_key)), Need("s3:PutObject", obj)]
    raise UnmappedCall(f"s3:{op}")


def _dynamodb(op: str, p: dict, region: str) -> list[Need]:
    if op in ("BatchGetItem", "BatchWriteItem"):
        return [Need(f"dynamodb:{op}", f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{t}") for t in p["RequestItems"]]
    arn = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{p['TableName']}"
    if p.get("IndexName"):
        arn += f"/index/{p['IndexName']}"
    return [Need(f"dynamodb:{op}", arn)]


_SAGEMAKER_RESOURCE = {
    "ProcessingJobName": "processing-job",
    "TrainingJobName": "training-job",
    "ModelName": "model",
    "EndpointConfigName": "endpoint-config",
    "EndpointName": "endpoint",
}


def _sm_arn(region: str, kind: str, name: str) -> str:
    # SageMaker lowercases names in its ARNs, and IAM compares ARNs case-sensitively.
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:{kind}/{name.lower()}"


def _pass_role(role_arn: str) -> Need:
    return Need("iam:PassRole", role_arn, (("iam:PassedToService", SAGEMAKER),))


def _sagemaker(op: str, p: dict, region: str) -> list[Need]:
    if op in ("ListEndpoints", "ListEndpointConfigs", "ListModels"):
        return [Need(f"sagemaker:{op}", "*")]
    if op in ("ListTags", "AddTags", "DeleteTags"):
        return [Need(f"sagemaker:{op}", p["ResourceArn"])]
    resources = [_sm_arn(region, kind, p[field]) for field, kind in _SAGEMAKER_RESOURCE.items() if field in p]
    if op == "CreateEndpointConfig" or op.endswith("Model") or "ProcessingJob" in op or "TrainingJob" in op:
        resources = resources[:1]  # the one resource the action is about (a config names its models)
    if not resources:
        raise UnmappedCall(f"sagemaker:{op}")
    needs = [Need(f"sagemaker:{op}", r) for r in resources]
    if op.startswith("Create") and p.get("Tags"):
        needs.append(Need("sagemaker:AddTags", resources[0]))  # tagging at creation is authorised apart
    for field in ("RoleArn", "ExecutionRoleArn"):
        if p.get(field):
            needs.append(_pass_role(p[field]))
    return needs


def _sagemaker_runtime(op: str, p: dict, region: str) -> list[Need]:
    return [Need(f"sagemaker:{op}", _sm_arn(region, "endpoint", p["EndpointName"]))]


def _states(op: str, p: dict, region: str) -> list[Need]:
    if op == "StartExecution":
        return [Need("states:StartExecution", p["stateMachineArn"])]
    if op in ("StopExecution", "DescribeExecution"):
        return [Need(f"states:{op}", p["executionArn"])]
    raise UnmappedCall(f"states:{op}")


def _target_tracking_alarms(region: str, endpoint: str) -> str:
    # How Application Auto Scaling names the alarms of a target tracking policy.
    return f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:TargetTracking-endpoint/{endpoint}/variant/main-AlarmHigh-1"


def _autoscaling(op: str, p: dict, region: str) -> list[Need]:
    needs = [Need(f"application-autoscaling:{op}", "*")]
    if p.get("ServiceNamespace") != "sagemaker" or "ResourceId" not in p:
        return needs
    endpoint = p["ResourceId"].split("/")[1]
    alarms = _target_tracking_alarms(region, endpoint)
    if op == "RegisterScalableTarget":
        needs += [
            Need("sagemaker:DescribeEndpoint", _sm_arn(region, "endpoint", endpoint)),
            Need("sagemaker:DescribeEndpointConfig", _sm_arn(region, "endpoint-config", f"{endpoint}-config")),
            Need("sagemaker:UpdateEndpointWeightsAndCapacities", _sm_arn(region, "endpoint", endpoint)),
            Need(
                "iam:CreateServiceLinkedRole",
                f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                (("iam:AWSServiceName", "sagemaker.application-autoscaling.amazonaws.com"),),
            ),
        ]
    if op == "PutScalingPolicy" and p.get("PolicyType") == "TargetTrackingScaling":
        needs += [Need(f"cloudwatch:{a}", alarms) for a in ("PutMetricAlarm", "DescribeAlarms", "DeleteAlarms")]
    if op in ("DeleteScalingPolicy", "DeregisterScalableTarget"):
        needs += [Need(f"cloudwatch:{a}", alarms) for a in ("DescribeAlarms", "DeleteAlarms")]
    return needs


def _cloudwatch(op: str, p: dict, region: str) -> list[Need]:
    names = p.get("AlarmNames") or ([p["AlarmName"]] if "AlarmName" in p else [])
    if not names:
        return [Need(f"cloudwatch:{op}", "*")]
    return [Need(f"cloudwatch:{op}", f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{n}") for n in names]


def _logs(op: str, p: dict, region: str) -> list[Need]:
    group = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{p.get('logGroupName', '')}"
    if op in ("PutLogEvents", "CreateLogStream"):
        return [Need(f"logs:{op}", f"{group}:log-stream:{p['logStreamName']}")]
    return [Need(f"logs:{op}", f"{group}:*")]


def _sns(op: str, p: dict, region: str) -> list[Need]:
    return [Need(f"sns:{op}", p["TopicArn"])]


def _sqs(op: str, p: dict, region: str) -> list[Need]:
    name = p["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
    return [Need(f"sqs:{op}", f"arn:aws:sqs:{region}:{ACCOUNT}:{name}")]


def _apigateway(op: str, p: dict, region: str) -> list[Need]:
    if op == "GetApiKey":
        return [Need("apigateway:GET", f"arn:aws:apigateway:{region}::/apikeys/{p['apiKey']}")]
    raise UnmappedCall(f"apigateway:{op}")


RULES: dict[str, Callable[[str, dict, str], list[Need]]] = {
    "s3": _s3,
    "dynamodb": _dynamodb,
    "sagemaker": _sagemaker,
    "sagemaker-runtime": _sagemaker_runtime,
    "stepfunctions": _states,
    "application-autoscaling": _autoscaling,
    "cloudwatch": _cloudwatch,
    "logs": _logs,
    "sns": _sns,
    "sqs": _sqs,
    "apigateway": _apigateway,
}


def needs_for(service: str, operation: str, params: dict[str, Any], region: str) -> list[Need]:
    if service not in RULES:
        raise UnmappedCall(f"{service}:{operation}")
    return RULES[service](operation, params, region)
