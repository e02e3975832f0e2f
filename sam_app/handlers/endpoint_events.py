"""EventBridge -> Lambda: "SageMaker Endpoint State Change" of this stack's endpoints.

Scaling is applied here, when the endpoint reaches InService, never lazily by whoever
happens to list endpoints; the jobs that waited for the endpoint start here too.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

from sam_app.adapters.aws.endpoint_events import shared_events as events

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    return events().apply(event)
