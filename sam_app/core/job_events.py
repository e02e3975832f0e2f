"""What an AWS compute event means for a job: a conditional, forward-only transition.

Pure mapping, no I/O. Three sources feed it:
  * EventBridge "SageMaker Training/Processing Job State Change" (utility jobs run as
    processing jobs; training jobs only report RUNNING here, because the training state
    machine owns their end: it must register the LoRA before the job is SUCCEEDED);
  * SageMaker async-inference notifications (the JSON inside the SNS message);
  * EventBridge "Step Functions Execution Status Change" of the training state machine,
    a safety net for executions that die outside their own failure path (aborted,
    timed out).

Every transition names the statuses it may replace, so a duplicated or late event is
a no-op: SUCCEEDED can never be overwritten by a RUNNING that arrives after it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sdaws.contract.job_status import CANCELLED, FAILED, RUNNING, SUCCEEDED, is_final, predecessors

# SageMaker job names are "sdaws-<job id>" (see the launcher); the prefix is also what
# the EventBridge rule filters on, so other SageMaker work in the account is ignored.
SAGEMAKER_NAME_PREFIX = "sdaws-"
_NAME = re.compile(r"^sdaws-(?P<job_id>[A-Za-z0-9][A-Za-z0-9-]{0,56})$")
MAX_REASON = 1000


@dataclass(frozen=True)
class JobTransition:
    job_id: str
    expected: tuple[str, ...]
    new_status: str
    fields: dict[str, Any] = field(default_factory=dict)
    # Whether the user hears about it (SNS e-mail) when this write is the one that lands.
    notify: bool = False


def timestamped(transition: JobTransition, now_iso: str) -> dict[str, Any]:
    """The record fields to write with the status, times included as the job service sets them."""
    fields = {"updated_at": now_iso, **transition.fields}
    if transition.new_status == RUNNING:
        fields.setdefault("started_at", now_iso)
    if is_final(transition.new_status):
        fields.setdefault("finished_at", now_iso)
    return fields


def sagemaker_job_name(job_id: str) -> str:
    name = f"{SAGEMAKER_NAME_PREFIX}{job_id}"
    if not _NAME.match(name):
        raise ValueError(f"job id {job_id!r} cannot name a SageMaker job (letters, digits, '-'; <= 57 chars)")
    return name


def job_id_from_sagemaker_name(name: str | None) -> str | None:
    match = _NAME.match(name or "")
    return match.group("job_id") if match else None


def _reason(text: Any) -> str:
    return str(text or "").strip()[:MAX_REASON]


def _transition(job_id: str, status: str, notify: bool = False, **fields: Any) -> JobTransition:
    return JobTransition(job_id, predecessors(status), status, {k: v for k, v in fields.items() if v}, notify)


def from_sagemaker_state_change(event: dict) -> JobTransition | None:
    """EventBridge SageMaker Training/Processing Job State Change -> transition (or None)."""
    detail = event.get("detail") or {}
    kind = event.get("detail-type", "")
    if kind == "SageMaker Training Job State Change":
        name, status, training = detail.get("TrainingJobName"), detail.get("TrainingJobStatus"), True
    elif kind == "SageMaker Processing Job State Change":
        name, status, training = detail.get("ProcessingJobName"), detail.get("ProcessingJobStatus"), False
    else:
        return None
    job_id = job_id_from_sagemaker_name(name)
    if job_id is None:
        return None
    if status == "InProgress":
        return _transition(job_id, RUNNING)
    if training:
        return None  # the training state machine records the end (after registering outputs)
    if status == "Completed":
        return _transition(job_id, SUCCEEDED, notify=True)
    if status == "Failed":
        reason = _reason(detail.get("FailureReason") or detail.get("ExitMessage")) or "processing job failed"
        return _transition(job_id, FAILED, notify=True, error=reason)
    if status == "Stopped":
        return _transition(job_id, CANCELLED, error="stopped in SageMaker")
    return None  # Stopping: wait for Stopped


def from_async_inference_result(message: dict) -> JobTransition | None:
    """The JSON body of a SageMaker async-inference success/error notification.

    The launcher sets InferenceId to the job id, so no lookup is needed. The images
    are found by the handler under the job's output folder, where the endpoint wrote them.
    """
    if message.get("eventName") != "InferenceResult":
        return None
    job_id = message.get("inferenceId") or ""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", job_id):
        return None
    status = message.get("invocationStatus")
    if status == "Completed":
        return _transition(job_id, SUCCEEDED)
    if status == "Failed":
        reason = _reason(message.get("failureReason")) or "inference failed"
        return _transition(job_id, FAILED, error=reason)
    return None


def from_step_functions_status(event: dict) -> JobTransition | None:
    """EventBridge Step Functions Execution Status Change of the training machine.

    Executions are named by job id. A SUCCEEDED or FAILED execution has already recorded
    its outcome in its own states; only deaths outside them need a transition here.
    """
    if event.get("detail-type") != "Step Functions Execution Status Change":
        return None
    detail = event.get("detail") or {}
    job_id = detail.get("name") or ""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}", job_id):
        return None
    status = detail.get("status")
    if status == "TIMED_OUT":
        return _transition(job_id, FAILED, notify=True, error="training timed out")
    if status == "ABORTED":
        return _transition(job_id, CANCELLED, error="training execution was stopped")
    if status == "FAILED":
        # Normally already FAILED by the machine's own failure path (then a no-op).
        cause = _reason(detail.get("cause") or detail.get("error")) or "training failed"
        return _transition(job_id, FAILED, notify=True, error=cause)
    return None


def sns_messages(event: dict) -> list[dict]:
    """The JSON messages inside an SNS-to-Lambda event; non-JSON messages are skipped."""
    out = []
    for record in event.get("Records") or []:
        raw = (record.get("Sns") or {}).get("Message")
        try:
            message = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            message = None
        if isinstance(message, dict):
            out.append(message)
    return out
