"""Lambda entrypoint of the REST API: thin, everything else is the shared app.

The event is never logged: its headers carry the API key.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from sam_app.api.dispatch import Dispatcher

logger = Logger()
tracer = Tracer()
metrics = Metrics()
_dispatcher: Dispatcher | None = None


def dispatcher() -> Dispatcher:
    # Built on first use so importing this module needs no AWS environment.
    global _dispatcher
    if _dispatcher is None:
        from sam_app.adapters.aws.wiring import build_aws_services

        _dispatcher = Dispatcher(build_aws_services())
    return _dispatcher


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    response = dispatcher()(event, context)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if response.get("statusCode", 500) >= 500:
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
    return response
