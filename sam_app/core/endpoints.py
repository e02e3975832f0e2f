"""Inference endpoints: the rules for asking for one, and what local mode answers.

In AWS an endpoint is a SageMaker async endpoint that scales between `min_instances`
(0 lets an idle endpoint cost nothing) and `max_instances` on its request backlog.
Locally jobs run on this machine's GPU or CPU: there is exactly one endpoint, `local`,
always there, and nothing to create or delete (400 saying so, rather than a fake).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from sdaws.contract.errors import InvalidInput

NAME = re.compile(r"^[a-z0-9](-?[a-z0-9]){0,29}$")
DEFAULT_NAME = "default"
MAX_INSTANCES = 20
# GPU instance types SageMaker async inference offers that fit SD1.x/SDXL inference.
INSTANCE_TYPES = (
    "ml.g4dn.xlarge",
    "ml.g4dn.2xlarge",
    "ml.g5.xlarge",
    "ml.g5.2xlarge",
    "ml.g5.4xlarge",
    "ml.g6.xlarge",
    "ml.g6.2xlarge",
    "ml.p3.2xlarge",
)
LOCAL_ONLY = "not available in local mode: jobs run on this machine's GPU or CPU, so there is no endpoint to manage"


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
