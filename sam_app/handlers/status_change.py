"""What the functions that turn an AWS event into a job status change share: their
Powertools logger and tracer, and applying the change to the job table."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Tracer

from sam_app.adapters.aws.job_event_sink import shared_sink as sink
from sam_app.core.job_events import JobTransition

logger = Logger()
tracer = Tracer()


def apply_status_change(transition: JobTransition | None) -> dict:
    """Whether the job moved: a redelivered or foreign event does not, and is never an
    error (EventBridge would retry it)."""
    return {"applied": sink().apply(transition)}
