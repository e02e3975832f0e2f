"""The pure mapping from AWS compute events to job transitions (no AWS needed)."""

from __future__ import annotations

import pytest

from sam_app.core.job_events import (
    JobTransition,
    from_async_inference_result,
    from_sagemaker_state_change,
    from_step_functions_status,
    job_id_from_sagemaker_name,
    sagemaker_job_name,
    sns_messages,
    timestamped,
)
from tests.support.aws_handlers import EVENT_JOB_ID, load_event


def _processing(status: str) -> dict:
    event = load_event("sagemaker_processing_completed.json")
    event["detail"]["ProcessingJobStatus"] = status
    return event


@pytest.mark.parametrize(
    "status, new, expected",
    [
        ("InProgress", "RUNNING", ("QUEUED", "STARTING")),
        ("Completed", "SUCCEEDED", ("QUEUED", "STARTING", "RUNNING")),
        ("Failed", "FAILED", ("QUEUED", "STARTING", "RUNNING")),
        ("Stopped", "CANCELLED", ("QUEUED", "STARTING", "RUNNING")),
    ],
)
def test_processing_states_map_forward_only(status, new, expected):
    t = from_sagemaker_state_change(_processing(status))
    assert (t.job_id, t.new_status, t.expected) == (EVENT_JOB_ID, new, expected)


def test_stopping_and_training_ends_are_not_transitions_here():
    assert from_sagemaker_state_change(_processing("Stopping")) is None
    training = load_event("sagemaker_training_in_progress.json")
    for status in ("Completed", "Failed", "Stopped"):
        training["detail"]["TrainingJobStatus"] = status
        assert from_sagemaker_state_change(training) is None


def test_failure_reason_is_kept_and_capped():
    event = load_event("sagemaker_processing_failed.json")
    event["detail"]["FailureReason"] = "x" * 5000
    t = from_sagemaker_state_change(event)
    assert t.fields["error"] == "x" * 1000 and t.notify


def test_async_results_map_by_inference_id():
    message = sns_messages(load_event("async_inference_success.json"))[0]
    assert from_async_inference_result(message).new_status == "SUCCEEDED"
    error = sns_messages(load_event("async_inference_error.json"))[0]
    assert from_async_inference_result(error).fields["error"].startswith("ClientError")
    assert from_async_inference_result(dict(message, inferenceId="../../x")) is None
    assert from_async_inference_result(dict(message, eventName="Other")) is None


def test_step_functions_deaths():
    event = load_event("sfn_execution_timed_out.json")
    assert from_step_functions_status(event).new_status == "FAILED"
    event["detail"]["status"] = "ABORTED"
    assert from_step_functions_status(event).new_status == "CANCELLED"
    event["detail"]["status"] = "SUCCEEDED"
    assert from_step_functions_status(event) is None


def test_names_round_trip_and_refuse_what_sagemaker_would():
    assert job_id_from_sagemaker_name(sagemaker_job_name(EVENT_JOB_ID)) == EVENT_JOB_ID
    assert job_id_from_sagemaker_name("other-" + EVENT_JOB_ID) is None
    with pytest.raises(ValueError):
        sagemaker_job_name("a/b")


def test_timestamps_follow_the_status():
    running = timestamped(JobTransition("j", ("QUEUED",), "RUNNING"), "T")
    assert running == {"updated_at": "T", "started_at": "T"}
    failed = timestamped(JobTransition("j", ("RUNNING",), "FAILED", {"error": "e"}), "T")
    assert failed == {"updated_at": "T", "error": "e", "finished_at": "T"}
