"""EndpointManager on SageMaker async inference with Application Auto Scaling.

An endpoint "<prefix>-<name>" has one variant "main"; its models and endpoint configs are
named "<endpoint>-<stamp>" (stamp: hex milliseconds). Scaling lives in Application Auto
Scaling: target tracking on ApproximateBacklogSizePerInstance and, when the endpoint may
scale to zero, a step policy woken by the HasBacklogWithoutCapacity alarm (target
tracking alone never scales up from zero instances).

SageMaker accepts a scalable target only once the endpoint is InService (minutes after
creation), and refuses a new instance type while the endpoint is registered for
autoscaling. So:
  put, new endpoint         create model, config and endpoint; the wanted scaling waits
                            in the endpoint's tags (applied "no")
  put, same instance type   apply the new scaling at once
  put, new instance type    deregister the scaling, update to a new config (applied "no")
  "InService" event         (EndpointEventsFunction, from EventBridge) apply the scaling,
                            delete the endpoint's older configs and models
GET /endpoints only reads.

Async endpoints on g4dn/g5/g6 default to NVIDIA driver 470 (CUDA 11.4): the job image's
CUDA 12.8 torch would not find the GPU there, so every variant selects the inference AMI
with driver 580 (InferenceAmiVersion).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from sam_app.core.endpoints import EndpointRequest, EndpointState
from sdaws.contract.errors import Conflict, InvalidInput, NotFound

VARIANT = "main"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
INFERENCE_AMI_VERSION = "al2023-ami-sagemaker-inference-gpu-4-1"  # NVIDIA driver 580, CUDA <= 13.0
TAG_MIN, TAG_MAX, TAG_TARGET = "sdaws:min_instances", "sdaws:max_instances", "sdaws:target_backlog"
TAG_APPLIED = "sdaws:scaling_applied"
_STAMP = re.compile(r"^[0-9a-f]{1,16}$")


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


def wake_alarm(endpoint: str) -> str:
    return f"{endpoint}-has-backlog"


def _stamped(name: str, endpoint: str) -> bool:
    """Whether `name` is one of this endpoint's models or configs ("<endpoint>-<hex stamp>")."""
    head, _, stamp = name.rpartition("-")
    return head == endpoint and bool(_STAMP.match(stamp))


class SageMakerEndpoints:
    def __init__(self, sagemaker, autoscaling, cloudwatch, settings: EndpointSettings) -> None:
        self._sm = sagemaker
        self._aas = autoscaling
        self._cw = cloudwatch
        self._cfg = settings

    def sagemaker_name(self, name: str) -> str:
        return f"{self._cfg.prefix}-{name}"

    def short_name(self, endpoint: str) -> str | None:
        prefix = f"{self._cfg.prefix}-"
        return endpoint[len(prefix) :] if endpoint.startswith(prefix) else None

    def _describe(self, endpoint: str) -> dict | None:
        try:
            return self._sm.describe_endpoint(EndpointName=endpoint)
        except ClientError as exc:
            if _code(exc) == "ValidationException":  # SageMaker's "could not find endpoint"
                return None
            raise

    def _tags(self, arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self._sm.list_tags(ResourceArn=arn).get("Tags", [])}

    # ------------------------------------------------------------------ put
    def _create_model_and_config(self, endpoint: str, request: EndpointRequest) -> str:
        stamp = f"{int(time.time() * 1000):x}"
        model = config = f"{endpoint}-{stamp}"
        self._sm.create_model(
            ModelName=model,
            ExecutionRoleArn=self._cfg.role_arn,
            PrimaryContainer={
                "Image": self._cfg.image_uri,
                "Environment": {
                    "SDAWS_MODELS_BUCKET": self._cfg.bucket,
                    # The container refuses to run on the CPU of a GPU instance (runtime.py).
                    "SDAWS_INSTANCE_TYPE": request.instance_type,
                    "SDAWS_ENDPOINT": endpoint,
                },
            },
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
                    "InferenceAmiVersion": INFERENCE_AMI_VERSION,
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
        return config

    @staticmethod
    def _wanted(request: EndpointRequest, applied: str = "no") -> list[dict[str, str]]:
        return [
            {"Key": TAG_MIN, "Value": str(request.min_instances)},
            {"Key": TAG_MAX, "Value": str(request.max_instances)},
            {"Key": TAG_TARGET, "Value": str(request.target_backlog)},
            {"Key": TAG_APPLIED, "Value": applied},
        ]

    def put(self, request: EndpointRequest) -> dict:
        if not self._cfg.image_uri:
            raise InvalidInput("JobImageUri is not set: push the job image (see containers/) and redeploy with it")
        endpoint = self.sagemaker_name(request.name)
        existing = self._describe(endpoint)
        if existing is None:
            config = self._create_model_and_config(endpoint, request)
            self._sm.create_endpoint(EndpointName=endpoint, EndpointConfigName=config, Tags=self._wanted(request))
            return self._view(request.name)
        status = existing["EndpointStatus"]
        if status == "Failed":
            raise Conflict(
                f"endpoint {request.name} failed ({existing.get('FailureReason', 'no reason given')}); "
                f"delete it (sdaws endpoints rm {request.name}) and create it again"
            )
        if status != "InService":
            raise Conflict(f"endpoint {request.name} is {status}; try again when it is InService (GET /endpoints)")
        current = self._sm.describe_endpoint_config(EndpointConfigName=existing["EndpointConfigName"])
        if current["ProductionVariants"][0]["InstanceType"] == request.instance_type:
            self._sm.add_tags(ResourceArn=existing["EndpointArn"], Tags=self._wanted(request))
            self.apply_scaling(endpoint)
            return self._view(request.name)
        # A new instance type: SageMaker refuses it while the variant is a scalable target.
        self._remove_scaling(endpoint)
        config = self._create_model_and_config(endpoint, request)
        self._sm.update_endpoint(EndpointName=endpoint, EndpointConfigName=config)
        self._sm.add_tags(ResourceArn=existing["EndpointArn"], Tags=self._wanted(request))
        return self._view(request.name)

    # ------------------------------------------------------------------ scaling
    def apply_scaling(self, endpoint: str) -> bool:
        """Register the wanted scaling of an InService endpoint; False when it is not InService."""
        described = self._describe(endpoint)
        if described is None or described["EndpointStatus"] != "InService":
            return False
        wanted = self._tags(described["EndpointArn"])
        if TAG_MIN not in wanted:
            return False  # not one of ours
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
                AlarmName=wake_alarm(endpoint),
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
        else:
            self._remove_wake(endpoint)
        self._sm.add_tags(ResourceArn=described["EndpointArn"], Tags=[{"Key": TAG_APPLIED, "Value": "yes"}])
        return True

    def _delete_wake_alarm(self, endpoint: str) -> None:
        try:
            self._cw.delete_alarms(AlarmNames=[wake_alarm(endpoint)])
        except ClientError as exc:
            if _code(exc) != "ResourceNotFound":  # never created: the endpoint never scaled to zero
                raise

    def _remove_wake(self, endpoint: str) -> None:
        self._delete_wake_alarm(endpoint)
        try:
            self._aas.delete_scaling_policy(PolicyName=f"{endpoint}-wake", **_scalable_target(endpoint))
        except ClientError as exc:
            if _code(exc) != "ObjectNotFoundException":
                raise

    def _remove_scaling(self, endpoint: str) -> None:
        """Deregistering the target also deletes its policies and their TargetTracking alarms."""
        self._delete_wake_alarm(endpoint)
        try:
            self._aas.deregister_scalable_target(**_scalable_target(endpoint))
        except ClientError as exc:
            if _code(exc) != "ObjectNotFoundException":  # scaling never applied
                raise

    # ------------------------------------------------------------------ cleanup
    def remove_old_versions(self, endpoint: str, keep_config: str | None) -> list[str]:
        """Delete the endpoint's configs and models other than `keep_config`'s; returns their names."""
        keep_model = None
        if keep_config:
            variants = self._sm.describe_endpoint_config(EndpointConfigName=keep_config)["ProductionVariants"]
            keep_model = variants[0]["ModelName"]
        removed = []
        for page in self._sm.get_paginator("list_endpoint_configs").paginate(NameContains=endpoint):
            for item in page.get("EndpointConfigs", []):
                name = item["EndpointConfigName"]
                if _stamped(name, endpoint) and name != keep_config:
                    self._sm.delete_endpoint_config(EndpointConfigName=name)
                    removed.append(name)
        for page in self._sm.get_paginator("list_models").paginate(NameContains=endpoint):
            for item in page.get("Models", []):
                name = item["ModelName"]
                if _stamped(name, endpoint) and name != keep_model:
                    self._sm.delete_model(ModelName=name)
                    removed.append(name)
        return removed

    def on_in_service(self, endpoint: str) -> bool:
        """What the endpoint's InService event asks for: scaling applied, old versions gone."""
        described = self._describe(endpoint)
        if described is None or described["EndpointStatus"] != "InService":
            return False  # a late event; the next one will do
        if self._tags(described["EndpointArn"]).get(TAG_APPLIED) != "yes":
            self.apply_scaling(endpoint)
        self.remove_old_versions(endpoint, described["EndpointConfigName"])
        return True

    # ------------------------------------------------------------------ read
    def state(self, name: str) -> EndpointState | None:
        described = self._describe(self.sagemaker_name(name))
        if described is None:
            return None
        variants = described.get("ProductionVariants") or []
        return EndpointState(
            name=name,
            status=described["EndpointStatus"],
            current_instances=variants[0].get("CurrentInstanceCount") if variants else None,
            failure=described.get("FailureReason"),
        )

    def _view(self, name: str) -> dict:
        endpoint = self.sagemaker_name(name)
        described = self._describe(endpoint)
        if described is None:
            raise NotFound(f"no endpoint {name!r}; GET /endpoints lists them")
        tags = self._tags(described["EndpointArn"])
        config = self._sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
        variants = described.get("ProductionVariants") or []
        return {
            "name": name,
            "status": described["EndpointStatus"],
            "instance_type": config["ProductionVariants"][0]["InstanceType"],
            "min_instances": int(tags.get(TAG_MIN, 1)),
            "max_instances": int(tags.get(TAG_MAX, 1)),
            "current_instances": variants[0].get("CurrentInstanceCount") if variants else None,
            "scaling_applied": tags.get(TAG_APPLIED) == "yes",
        }

    def list(self) -> list[dict]:
        names = []
        for page in self._sm.get_paginator("list_endpoints").paginate(NameContains=f"{self._cfg.prefix}-"):
            names += [n for e in page["Endpoints"] if (n := self.short_name(e["EndpointName"]))]
        return [self._view(name) for name in sorted(names)]

    # ------------------------------------------------------------------ delete
    def delete(self, name: str) -> dict:
        endpoint = self.sagemaker_name(name)
        described = self._describe(endpoint)
        if described is None:
            raise NotFound(f"no endpoint {name!r}; GET /endpoints lists them")
        self._remove_scaling(endpoint)
        self._sm.delete_endpoint(EndpointName=endpoint)
        self.remove_old_versions(endpoint, keep_config=None)
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
