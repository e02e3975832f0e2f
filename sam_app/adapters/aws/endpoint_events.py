"""What an endpoint's EventBridge state change sets in motion (EndpointEventsFunction).

  InService  apply the wanted scaling (SageMaker only accepts a scalable target now),
             delete the endpoint's older configs and models, send it the jobs waiting
  Failed     fail the jobs waiting for it, with SageMaker's reason

Every step is safe to repeat: SageMaker may send an event more than once, and the
waiting jobs are claimed one conditional write at a time.
"""

from __future__ import annotations

import functools
import logging
import os

from sam_app.core.endpoints import endpoint_state_change

from .sagemaker_endpoints import SageMakerEndpoints
from .sagemaker_launcher import SageMakerLauncher

logger = logging.getLogger(__name__)


class EndpointEvents:
    def __init__(self, endpoints: SageMakerEndpoints, launcher: SageMakerLauncher) -> None:
        self._endpoints = endpoints
        self._launcher = launcher

    def apply(self, event: dict) -> dict:
        change = endpoint_state_change(event)
        if change is None:
            return {"ignored": "not an endpoint state change"}
        endpoint, status = change
        if self._endpoints.short_name(endpoint) is None:
            return {"ignored": f"{endpoint} is not this stack's"}
        if status == "InService":
            ready = self._endpoints.on_in_service(endpoint)
            started = self._launcher.start_waiting(endpoint) if ready else []
            logger.info("endpoint %s in service: scaling applied, %d waiting jobs sent", endpoint, len(started))
            return {"endpoint": endpoint, "status": status, "started": started}
        if status == "Failed":
            state = self._endpoints.state(self._endpoints.short_name(endpoint) or "")
            reason = f"endpoint {endpoint} failed: {(state.failure if state else None) or 'no reason given'}"
            failed = self._launcher.fail_waiting(endpoint, reason)
            return {"endpoint": endpoint, "status": status, "failed": failed}
        return {"endpoint": endpoint, "status": status}


def events_from_environment(env) -> EndpointEvents:
    """The deployed handler's wiring (names set by template.yaml)."""
    import boto3

    from .dynamo_jobs import DynamoJobRecords
    from .sagemaker_endpoints import endpoints_from_environment
    from .sagemaker_launcher import launcher_from_environment

    records = DynamoJobRecords(boto3.resource("dynamodb").Table(env["JOBS_TABLE"]))
    endpoints = endpoints_from_environment(env)
    launcher = launcher_from_environment(env, records)
    if endpoints is None or launcher is None:
        raise RuntimeError("EndpointEventsFunction needs ENDPOINT_PREFIX and JOB_IMAGE_URI (template.yaml sets them)")
    return EndpointEvents(endpoints, launcher)


@functools.cache
def shared_events() -> EndpointEvents:
    return events_from_environment(os.environ)
