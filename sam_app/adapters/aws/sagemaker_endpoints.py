"""EndpointManager on SageMaker async inference with Application Auto Scaling.

An endpoint "<prefix>-<name>" has one variant "main". Its scaling lives in Application
Auto Scaling: target tracking on ApproximateBacklogSizePerInstance, and, when it may
scale to zero, a step policy woken by the HasBacklogWithoutCapacity alarm (target
tracking alone never scales up from zero instances).

SageMaker only accepts a scalable target once the endpoint is InService, minutes after
creation; the wanted scaling is therefore kept as endpoint tags and applied by `put`
and by every `list` once the endpoint is ready (the TUI lists while it waits).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from sam_app.core.endpoints import EndpointRequest
from sdaws.contract.errors import InvalidInput, NotFound

VARIANT = "main"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
TAG_MIN, TAG_MAX, TAG_TARGET = "sdaws:min_instances", "sdaws:max_instances", "sdaws:target_backlog"
TAG_APPLIED = "sdaws:scaling_applied"


@dataclass(frozen=True)
class EndpointSettings:
    prefix: str  # SageMaker names start "<prefix>-"
    image_uri: str
    role_arn: str
    bucket: str
    success_topic_arn: str
    error_topic_arn: str


def _scalable_target(endpoint: str) -> dict[str, str]:
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": f"endpoint/{endpoint}/variant/{VARIANT}",
        "ScalableDimension": DIMENSION,
    }


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


class SageMakerEndpoints:
    def __init__(self, sagemaker, autoscaling, cloudwatch, settings: EndpointSettings) -> None:
        self._sm = sagemaker
        self._aas = autoscaling
        self._cw = cloudwatch
        self._cfg = settings

    def sagemaker_name(self, name: str) -> str:
        return f"{self._cfg.prefix}-{name}"

    def _describe(self, endpoint: str) -> dict | None:
        try:
            return self._sm.describe_endpoint(EndpointName=endpoint)
        except ClientError as exc:
            if _code(exc) == "ValidationException":  # SageMaker's "could not find endpoint"
                return None
            raise

    # ------------------------------------------------------------------ put
    def put(self, request: EndpointRequest) -> dict:
        if not self._cfg.image_uri:
            raise InvalidInput("JobImageUri is not set: push the job image (see containers/) and redeploy with it")
        endpoint = self.sagemaker_name(request.name)
        stamp = f"{int(time.time() * 1000):x}"
        model = config = f"{endpoint}-{stamp}"
        self._sm.create_model(
            ModelName=model,
            ExecutionRoleArn=self._cfg.role_arn,
            PrimaryContainer={"Image": self._cfg.image_uri, "Environment": {"SDAWS_MODELS_BUCKET": self._cfg.bucket}},
        )
        bucket = self._cfg.bucket
        self._sm.create_endpoint_config(
            EndpointConfigName=config,
            ProductionVariants=[
                {
                    "VariantName": VARIANT,
                    "ModelName": model,
                    "InstanceType": request.instance_type,
                    # An endpoint starts with at least one instance; autoscaling takes it to min.
                    "InitialInstanceCount": max(1, request.min_instances),
                }
            ],
            AsyncInferenceConfig={
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 1},
                "OutputConfig": {
                    "S3OutputPath": f"s3://{bucket}/async-results/",
                    "S3FailurePath": f"s3://{bucket}/async-failures/",
                    "NotificationConfig": {
                        "SuccessTopic": self._cfg.success_topic_arn,
                        "ErrorTopic": self._cfg.error_topic_arn,
                    },
                },
            },
        )
        tags = [
            {"Key": TAG_MIN, "Value": str(request.min_instances)},
            {"Key": TAG_MAX, "Value": str(request.max_instances)},
            {"Key": TAG_TARGET, "Value": str(request.target_backlog)},
            {"Key": TAG_APPLIED, "Value": "no"},
        ]
        existing = self._describe(endpoint)
        if existing is None:
            self._sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config, Tags=tags)
        else:
            if existing["EndpointStatus"] not in ("InService", "Failed"):
                raise InvalidInput(
                    f"endpoint {request.name} is {existing['EndpointStatus']}; try again when it is InService"
                )
            self._sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config)
            self._sm.add_tags(ResourceArn=existing["EndpointArn"], Tags=tags)
        return self._view(request.name)

    # ------------------------------------------------------------------ scaling
    def _apply_scaling(self, endpoint: str, arn: str, wanted: dict[str, str]) -> None:
        target = _scalable_target(endpoint)
        low, high = int(wanted[TAG_MIN]), int(wanted[TAG_MAX])
        self._aas.register_scalable_target(**target, MinCapacity=low, MaxCapacity=high)
        self._aas.put_scaling_policy(
            **target,
            PolicyName=f"{endpoint}-backlog",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": float(wanted[TAG_TARGET]),
                "CustomizedMetricSpecification": {
                    "MetricName": "ApproximateBacklogSizePerInstance",
                    "Namespace": "AWS/SageMaker",
                    "Dimensions": [{"Name": "EndpointName", "Value": endpoint}],
                    "Statistic": "Average",
                },
                "ScaleInCooldown": 600,
                "ScaleOutCooldown": 300,
            },
        )
        if low == 0:
            wake = self._aas.put_scaling_policy(
                **target,
                PolicyName=f"{endpoint}-wake",
                PolicyType="StepScaling",
                StepScalingPolicyConfiguration={
                    "AdjustmentType": "ChangeInCapacity",
                    "MetricAggregationType": "Average",
                    "Cooldown": 300,
                    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
                },
            )["PolicyARN"]
            self._cw.put_metric_alarm(
                AlarmName=f"{endpoint}-has-backlog",
                Namespace="AWS/SageMaker",
                MetricName="HasBacklogWithoutCapacity",
                Dimensions=[{"Name": "EndpointName", "Value": endpoint}],
                Statistic="Average",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData="missing",
                AlarmActions=[wake],
            )
        self._sm.add_tags(ResourceArn=arn, Tags=[{"Key": TAG_APPLIED, "Value": "yes"}])

    def _tags(self, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self._sm.list_tags(ResourceArn=arn).get("Tags", [])}

    # ------------------------------------------------------------------ read
    def _view(self, name: str) -> dict:
        endpoint = self.sagemaker_name(name)
        described = self._describe(endpoint)
        if described is None:
            raise NotFound(f"no endpoint {name!r}; GET /endpoints lists them")
        tags = self._tags(described["EndpointArn"])
        if described["EndpointStatus"] == "InService" and tags.get(TAG_APPLIED) == "no":
            self._apply_scaling(endpoint, described["EndpointArn"], tags)
        config = self._sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        variants = described.get("ProductionVariants") or []
        return {
            "name": name,
            "status": described["EndpointStatus"],
            "instance_type": config["ProductionVariants"][0]["InstanceType"],
            "min_instances": int(tags.get(TAG_MIN, 1)),
            "max_instances": int(tags.get(TAG_MAX, 1)),
            "current_instances": variants[0].get("CurrentInstanceCount") if variants else None,
        }

    def list(self) -> list[dict]:
        prefix = f"{self._cfg.prefix}-"
        names = []
        for page in self._sm.get_paginator("list_endpoints").paginate(NameContains=prefix):
            names += [
                e["EndpointName"][len(prefix) :] for e in page["Endpoints"] if e["EndpointName"].startswith(prefix)
            ]
        return [self._view(name) for name in sorted(names)]

    # ------------------------------------------------------------------ delete
    def delete(self, name: str) -> dict:
        endpoint = self.sagemaker_name(name)
        described = self._describe(endpoint)
        if described is None:
            raise NotFound(f"no endpoint {name!r}; GET /endpoints lists them")
        self._cw.delete_alarms(AlarmNames=[f"{endpoint}-has-backlog"])
        try:
            self._aas.deregister_scalable_target(**_scalable_target(endpoint))
        except ClientError as exc:
            if _code(exc) != "ObjectNotFoundException":  # scaling never applied
                raise
        config = self._sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        self._sm.delete_endpoint(EndpointName=endpoint)
        self._sm.delete_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        for variant in config["ProductionVariants"]:
            self._sm.delete_model(ModelName=variant["ModelName"])
        return {"name": name, "deleted": True}


def endpoints_from_environment(env) -> SageMakerEndpoints | None:
    """The API function's endpoint manager (names from template.yaml); None outside a deployed stack."""
    if not env.get("ENDPOINT_PREFIX"):
        return None
    import boto3

    return SageMakerEndpoints(
        boto3.client("sagemaker"),
        boto3.client("application-autoscaling"),
        boto3.client("cloudwatch"),
        EndpointSettings(
            prefix=env["ENDPOINT_PREFIX"],
            image_uri=env.get("JOB_IMAGE_URI", ""),
            role_arn=env["SAGEMAKER_ROLE_ARN"],
            bucket=env["MODELS_BUCKET"],
            success_topic_arn=env["INFERENCE_SUCCESS_TOPIC_ARN"],
            error_topic_arn=env["INFERENCE_ERROR_TOPIC_ARN"],
        ),
    )
