"""SageMaker endpoints in moto that take time to start, as real ones do, and UpdateEndpoint.

moto makes every endpoint InService the moment it is created and has no UpdateEndpoint.
The `endpoint_lifecycle` fixture (in-process moto only) keeps them as SageMaker does:
CreateEndpoint leaves the endpoint Creating and UpdateEndpoint leaves it Updating on its
old configuration, until the test plays SageMaker finishing the deployment
(`finish(name)`), which returns the EventBridge event SageMaker sends then
("SageMaker Endpoint State Change", as in SageMaker's EventBridge documentation).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from moto.core.utils import utcnow
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.models import sagemaker_backends

from tests.support.deployed import ACCOUNT, REGION

_STATUS_IN_EVENT = {"InService": "IN_SERVICE", "Failed": "FAILED", "Creating": "CREATING", "Updating": "UPDATING"}


def _backend():
    return sagemaker_backends[ACCOUNT][REGION]


def _update_endpoint(self, endpoint_name: str, endpoint_config_name: str):
    endpoint = self.endpoints.get(endpoint_name)
    if endpoint is None:
        raise sm_models.ValidationError(message=f"Could not find endpoint '{endpoint_name}'.")
    if endpoint.endpoint_status != "InService":
        raise sm_models.ValidationError(
            message=f'Cannot update in-progress endpoint "{endpoint.arn}" (status {endpoint.endpoint_status}).'
        )
    self.describe_endpoint_config(endpoint_config_name)  # must exist
    endpoint.pending_config = endpoint_config_name
    endpoint.endpoint_status = "Updating"
    endpoint.last_modified_time = utcnow()
    return endpoint


def _update_endpoint_response(self):
    endpoint = self.sagemaker_backend.update_endpoint(
        endpoint_name=self._get_param("EndpointName"),
        endpoint_config_name=self._get_param("EndpointConfigName"),
    )
    return sm_responses.ActionResult({"EndpointArn": endpoint.arn})


@dataclass
class EndpointLifecycle:
    def status(self, endpoint_name: str) -> str:
        return _backend().endpoints[endpoint_name].endpoint_status

    def finish(self, endpoint_name: str, status: str = "InService", reason: str | None = None) -> dict:
        """SageMaker is done deploying: the endpoint is `status` and the event it sends."""
        endpoint = _backend().endpoints[endpoint_name]
        pending = getattr(endpoint, "pending_config", None)
        if pending and status == "InService":
            config = _backend().describe_endpoint_config(pending)
            endpoint.endpoint_config_name = pending
            endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.pending_config = None
        endpoint.endpoint_status = status
        endpoint.failure_reason = reason
        return endpoint_event(endpoint_name, status, endpoint.endpoint_config_name)

    def scale_to(self, endpoint_name: str, instances: int) -> None:
        for variant in _backend().endpoints[endpoint_name].production_variants:
            variant["CurrentInstanceCount"] = instances


def endpoint_event(endpoint_name: str, status: str, config_name: str) -> dict:
    return {
        "version": "0",
        "id": "d2921b5a-b0ad-cace-a8e3-0f159d018e06",
        "detail-type": "SageMaker Endpoint State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT,
        "time": "2026-11-23T12:00:00Z",
        "region": REGION,
        "resources": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint_name}"],
        "detail": {
            "EndpointName": endpoint_name,
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint_name}",
            "EndpointConfigName": config_name,
            "ProductionVariants": [{"DesiredWeight": 1.0, "DesiredInstanceCount": 1.0}],
            "EndpointStatus": _STATUS_IN_EVENT.get(status, status.upper()),
            "CreationTime": 1592411992203.0,
            "LastModifiedTime": 1592411994287.0,
            "Tags": {},
        },
    }


@pytest.fixture
def endpoint_lifecycle(monkeypatch) -> EndpointLifecycle:
    original_init = sm_models.FakeEndpoint.__init__

    def starting(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.endpoint_status = "Creating"

    monkeypatch.setattr(sm_models.FakeEndpoint, "__init__", starting)
    monkeypatch.setattr(sm_models.SageMakerModelBackend, "update_endpoint", _update_endpoint, raising=False)
    monkeypatch.setattr(sm_responses.SageMakerResponse, "update_endpoint", _update_endpoint_response, raising=False)
    return EndpointLifecycle()
