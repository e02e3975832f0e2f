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
from sam_app.core.ports import ModelCatalog
from sdaws.contract import job_status as st
from sdaws.contract.hash_spec import KIND as HASH_KIND
from sdaws.contract.import_spec import KIND as IMPORT_KIND

from .model_hashing import record_hash_job
from .s3_outputs import S3JobOutputs

logger = logging.getLogger(__name__)


class JobEventSink:
    def __init__(
        self,
        records: JobRecords,
        outputs: S3JobOutputs | None,
        sns=None,
        topic_arn: str | None = None,
        catalog: ModelCatalog | None = None,
    ):
        self._catalog = catalog  # where a hash job's result is recorded
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
        if moved and transition.new_status == st.SUCCEEDED and job.kind == HASH_KIND and self._catalog is not None:
            if self._outputs is not None:
                record_hash_job(self._outputs.s3, self._outputs.bucket, self._catalog, job.job_id)
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
    from .dynamo_tables import DynamoModelCatalog

    dynamodb = boto3.resource("dynamodb")
    records = DynamoJobRecords(dynamodb.Table(env["JOBS_TABLE"]))
    s3 = boto3.client("s3")
    catalog = DynamoModelCatalog(dynamodb.Table(env["MODELS_TABLE"])) if env.get("MODELS_TABLE") else None
    outputs = S3JobOutputs(s3, env["MODELS_BUCKET"])
    return JobEventSink(records, outputs, boto3.client("sns"), env.get("TOPIC_ARN"), catalog)


@functools.cache
def shared_sink() -> JobEventSink:
    """Built on first use, so importing a handler needs no AWS environment."""
    return sink_from_environment(os.environ)
