"""EventBridge -> Lambda: "Object Created" in the model bucket -> the object's sha256 in the
models table (a hash job for objects past this function's limits). Every way an object
arrives goes through here: an upload (its claimed hash verified), an import, `aws s3 cp`."""

from __future__ import annotations

import functools

from aws_lambda_powertools import Logger, Tracer

from sam_app.adapters.aws.model_hashing import ModelHashing, hashing_from_environment

logger = Logger()
tracer = Tracer()


@functools.cache
def shared_hashing() -> ModelHashing:
    return hashing_from_environment()


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
def handler(event: dict, context) -> dict:
    left = getattr(context, "get_remaining_time_in_millis", None)
    remaining = (lambda: left() / 1000) if left is not None else None
    return {"hashed": shared_hashing().handle(event, remaining)}
