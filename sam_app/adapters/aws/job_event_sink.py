"""Applies a job transition from an AWS event: one conditional write, then maybe an e-mail.

Shared by the event handlers. The conditional write decides everything: of many
duplicated or racing events only the one whose write lands reports outputs and sends
the notification, so the user gets one e-mail per finished job.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import replace
from datetime import UTC, datetime

from sam_app.core.job_events import JobTransition, timestamped
from sam_app.core.jobs_ports import JobRecords
from sdaws.contract import job_status as st
from sdaws.contract.import_spec import KIND as IMPORT_KIND

from .s3_outputs import S3JobOutputs

logger = logging.getLogger(__name__)


class JobEventSink:
    def __init__(self, records: JobRecords, outputs: S3JobOutputs | None, sns=None, topic_arn: str | None = None):
        self._records = records
        self._outputs = outputs
        self._sns = sns
        self._topic_arn = topic_arn

    def apply(self, transition: JobTransition | None) -> bool:
        """True when this event moved the job; False for ignored, duplicate or late events."""
        if transition is None:
            return False
        job = self._records.get(transition.job_id)
        if job is None:
            logger.info("event for unknown job %s ignored", transition.job_id)
            return False
        if transition.new_status == st.SUCCEEDED and self._outputs is not None and not job.outputs:
            transition = replace(transition, fields={**transition.fields, "outputs": self._outputs.discover(job)})
        fields = timestamped(transition, datetime.now(UTC).isoformat())
        moved = self._records.transition(transition.job_id, transition.expected, transition.new_status, **fields)
        logger.info(
            "job %s -> %s %s", transition.job_id, transition.new_status, "applied" if moved else "ignored (not newer)"
        )
        if moved and st.is_final(transition.new_status) and job.kind == IMPORT_KIND and self._outputs is not None:
            self._outputs.forget_secrets(job.job_id)  # the import's token lives no longer than its job
        if moved and transition.notify:
            self._notify(job.kind, job.name, transition)
        return moved

    def _notify(self, kind: str, name: str, transition: JobTransition) -> None:
        if self._sns is None or not self._topic_arn:
            return
        status = transition.new_status.lower()
        text = f"sdaws {kind} job {transition.job_id} ({name}) {status}."
        if transition.fields.get("error"):
            text += f"\n\nReason: {transition.fields['error']}"
        self._sns.publish(TopicArn=self._topic_arn, Subject=f"sdaws: {kind} {status}"[:100], Message=text)


def sink_from_environment(env) -> JobEventSink:
    """The sink of a deployed event handler (names set by template.yaml)."""
    import boto3

    from .dynamo_jobs import DynamoJobRecords

    records = DynamoJobRecords(boto3.resource("dynamodb").Table(env["JOBS_TABLE"]))
    s3 = boto3.client("s3")
    return JobEventSink(records, S3JobOutputs(s3, env["MODELS_BUCKET"]), boto3.client("sns"), env.get("TOPIC_ARN"))


@functools.cache
def shared_sink() -> JobEventSink:
    """Built on first use, so importing a handler needs no AWS environment."""
    return sink_from_environment(os.environ)
