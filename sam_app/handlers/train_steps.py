"""EventBridge -> Lambda: the training state machine's execution ended.

The machine records its own success and failure. This catches what it cannot: an
execution that timed out or was stopped never reaches its failure path, and its job
would otherwise stay RUNNING forever.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

from sam_app.adapters.aws.job_event_sink import shared_sink as sink
from sam_app.core.job_events import from_step_functions_status

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    moved = sink().apply(from_step_functions_status(event))
    return {"applied": moved}
