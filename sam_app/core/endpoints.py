"""Inference endpoints: the rules for asking for one, what a job waits for, and what local mode answers.

In AWS an endpoint is a SageMaker async endpoint that scales between `min_instances`
(0 lets an idle endpoint cost nothing) and `max_instances` on its request backlog.
Locally jobs run on this machine's GPU or CPU: there is exactly one endpoint, `local`,
always there, and nothing to create or delete (400 saying so, rather than a fake).

Pure rules, no I/O: the names and sizes an endpoint may have, the message a job shows
while its endpoint starts, how long one async request may run, and what an EventBridge
"SageMaker Endpoint State Change" event says.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Protocol

from sdaws.contract.errors import InvalidInput

NAME = re.compile(r"^[a-z0-9](-?[a-z0-9]){0,29}$")
DEFAULT_NAME = "default"
DEFAULT_INSTANCE_TYPE = "ml.g4dn.xlarge"  # the cheapest GPU that runs SD1.x and SDXL in fp16
MAX_INSTANCES = 20
# GPU instance types SageMaker async inference offers that fit SD1.x/SDXL inference and that
# the driver-580 inference AMI supports (the image's CUDA 12.8 torch needs driver >= 525).
INSTANCE_TYPES = (
    "ml.g4dn.xlarge",
    "ml.g4dn.2xlarge",
    "ml.g5.xlarge",
    "ml.g5.2xlarge",
    "ml.g5.4xlarge",
    "ml.g6.xlarge",
    "ml.g6.2xlarge",
)
LOCAL_ONLY = "not available in local mode: jobs run on this machine's GPU or CPU, so there is no endpoint to manage"

# What a new endpoint takes to serve: instance launch, image pull (~8 GB), health check.
COLD_START_MINUTES = 10
# An idle endpoint at 0 instances: the backlog alarm (1 min) and one instance launch.
SCALE_FROM_ZERO_MINUTES = 7

# SageMaker async inference: InvocationTimeoutSeconds is 1..3600 (default 900).
MAX_INVOCATION_S = 3600
MIN_INVOCATION_S = 900
# A deliberately slow estimate (a T4, the slowest allowed GPU): model download and load,
# then seconds per denoising step of a 512x512 image; larger images cost by pixel count.
LOAD_S = 240
STEP_S_AT_512 = 0.15


@dataclass(frozen=True)
class EndpointRequest:
    name: str
    instance_type: str
    min_instances: int
    max_instances: int
    target_backlog: float  # queued requests per instance the autoscaler aims for

    def check(self) -> EndpointRequest:
        if not NAME.match(self.name):
            raise InvalidInput("name: 1-30 lowercase letters, digits and single '-', starting with a letter or digit")
        if self.instance_type not in INSTANCE_TYPES:
            raise InvalidInput(f"instance_type must be one of {', '.join(INSTANCE_TYPES)}")
        if not 0 <= self.min_instances <= self.max_instances <= MAX_INSTANCES or self.max_instances < 1:
            raise InvalidInput(f"need 0 <= min_instances <= max_instances <= {MAX_INSTANCES} and max_instances >= 1")
        if not 0 < self.target_backlog <= 1000:
            raise InvalidInput("target_backlog must be between 0 and 1000 queued requests per instance")
        return self


def default_request(instance_type: str = DEFAULT_INSTANCE_TYPE) -> EndpointRequest:
    """The endpoint the first txt2img creates: one instance at most, idle at zero (costs nothing)."""
    return EndpointRequest(DEFAULT_NAME, instance_type, 0, 1, 5.0).check()


@dataclass(frozen=True)
class EndpointState:
    name: str
    status: str  # SageMaker's EndpointStatus: Creating, InService, Updating, Failed, Deleting …
    current_instances: int | None = None
    failure: str | None = None

    @property
    def accepts_requests(self) -> bool:
        # An updating endpoint keeps serving on its old configuration meanwhile.
        return self.status in ("InService", "Updating", "SystemUpdating")

    @property
    def starting(self) -> bool:
        return self.status == "Creating"


def waiting_message(state: EndpointState | None) -> str | None:
    """What a job shows while its endpoint gets ready; None when it is serving right away."""
    if state is None or state.starting:
        name = state.name if state else DEFAULT_NAME
        return f"endpoint {name} starting (cold start ~{COLD_START_MINUTES} min)"
    if state.accepts_requests and state.current_instances == 0:
        return f"endpoint {state.name} scaling up from zero (~{SCALE_FROM_ZERO_MINUTES} min)"
    return None


def unusable_reason(state: EndpointState) -> str | None:
    """Why a job cannot be sent to this endpoint at all (409 with what to do), else None."""
    if state.status == "Failed":
        return (
            f"endpoint {state.name} failed ({state.failure or 'no reason given'}); recreate it: "
            f"sdaws endpoints rm {state.name} && sdaws endpoints create {state.name}"
        )
    if state.status in ("Deleting", "OutOfService", "RollingBack"):
        return f"endpoint {state.name} is {state.status}; wait until GET /endpoints no longer lists it, then try again"
    return None


def inference_estimate_s(kind: str, spec: dict[str, Any]) -> float:
    """A slow-side estimate of one async request's run time on the endpoint."""
    images = int(spec.get("batch_count", 1)) * int(spec.get("batch_size", 1))
    steps = int(spec.get("steps", 20))
    if kind == "img2img":
        steps = max(1, math.ceil(steps * float(spec.get("denoising_strength", 0.75))))
    pixels = int(spec.get("width", 512)) * int(spec.get("height", 512)) / (512 * 512)
    return LOAD_S + images * steps * STEP_S_AT_512 * max(pixels, 1.0) ** 1.2


def invocation_timeout_s(kind: str, spec: dict[str, Any]) -> int:
    """InvocationTimeoutSeconds for this request: twice the estimate, 900..3600 s.

    Raises InvalidInput when even the estimate passes SageMaker's 3,600 s limit, with
    what to change, instead of a request SageMaker would cut off after an hour."""
    estimate = inference_estimate_s(kind, spec)
    if estimate > MAX_INVOCATION_S:
        raise InvalidInput(
            f"this {kind} request needs about {round(estimate / 60)} min on the endpoint, over the "
            f"{MAX_INVOCATION_S // 60} min SageMaker allows one async request: lower steps, batch_count, "
            "batch_size or the image size, or split it into several jobs"
        )
    return int(min(MAX_INVOCATION_S, max(MIN_INVOCATION_S, math.ceil(2 * estimate))))


def endpoint_state_change(event: dict) -> tuple[str, str] | None:
    """(endpoint name, status in DescribeEndpoint's spelling) of an EventBridge
    "SageMaker Endpoint State Change" event, whose detail spells it IN_SERVICE, FAILED …"""
    if event.get("source") != "aws.sagemaker" or event.get("detail-type") != "SageMaker Endpoint State Change":
        return None
    detail = event.get("detail") or {}
    name, status = detail.get("EndpointName"), detail.get("EndpointStatus")
    if not isinstance(name, str) or not isinstance(status, str):
        return None
    return name, "".join(part.capitalize() for part in status.split("_"))  # IN_SERVICE -> InService


class EndpointManager(Protocol):
    def list(self) -> list[dict]:
        """Each {name, status, instance_type, min_instances, max_instances, current_instances}."""

    def put(self, request: EndpointRequest) -> dict:
        """Create the endpoint, or change its instance type and scaling; returns it."""

    def delete(self, name: str) -> dict: ...


class LocalEndpoints:
    """Local mode: the machine itself is the one endpoint."""

    ENDPOINT = {
        "name": "local",
        "status": "InService",
        "instance_type": "local",
        "min_instances": 1,
        "max_instances": 1,
        "current_instances": 1,
    }

    def list(self) -> list[dict]:
        return [dict(self.ENDPOINT)]

    def put(self, request: EndpointRequest) -> dict:
        raise InvalidInput(LOCAL_ONLY)

    def delete(self, name: str) -> dict:
        raise InvalidInput(LOCAL_ONLY)
