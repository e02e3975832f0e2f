"""EventBridge -> Lambda: the training state machine's execution ended.

The machine records its own success and failure. This catches what it cannot: an
execution that timed out or was stopped never reaches its failure path, and its job
would otherwise stay RUNNING forever.
"""

from __future__ import annotations

from sam_app.core.job_events import from_step_functions_status
from sam_app.handlers.status_change import apply_status_change, logger, tracer


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    return apply_status_change(from_step_functions_status(event))
