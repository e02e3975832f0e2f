"""EventBridge -> Lambda: SageMaker Training/Processing Job State Change updates the job.

The rule in template.yaml only forwards jobs named "sdaws-…"; anything else that
arrives is ignored, never an error (EventBridge would retry it).
"""

from __future__ import annotations

from sam_app.core.job_events import from_sagemaker_state_change
from sam_app.handlers.status_change import apply_status_change, logger, tracer


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    return apply_status_change(from_sagemaker_state_change(event))
