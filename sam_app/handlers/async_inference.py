"""SNS -> Lambda: SageMaker async-inference success and error notifications finish the job.

Both topics feed this one function; the message itself says which it is.
"""

from __future__ import annotations

from sam_app.adapters.aws.job_event_sink import shared_sink as sink
from sam_app.core.job_events import from_async_inference_result, sns_messages
from sam_app.handlers.status_change import logger, tracer


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    applied = [sink().apply(from_async_inference_result(message)) for message in sns_messages(event)]
    return {"applied": sum(applied), "messages": len(applied)}
