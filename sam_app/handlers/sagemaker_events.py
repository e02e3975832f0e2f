"""EventBridge -> Lambda: SageMaker Training/Processing Job State Change updates the job.

The rule in template.yaml only forwards jobs named "sdaws-…"; anything else that
arrives is ignored, never an error (EventBridge would retry it).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

from sam_app.adapters.aws.job_event_sink import shared_sink as sink
from sam_app.core.job_events import from_sagemaker_state_change

logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    moved = sink().apply(from_sagemaker_state_change(event))
    return {"applied": moved}
