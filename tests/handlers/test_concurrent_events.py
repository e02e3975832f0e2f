"""50 jobs, their status events duplicated, shuffled and delivered from many threads.

Whatever the order, every job must end in the status its final event says, and each
job that notifies must produce exactly one e-mail: the conditional writes in DynamoDB
(moto) decide, not the arrival order.
"""

from __future__ import annotations

import copy
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3

from sam_app.handlers import async_inference, sagemaker_events, train_steps
from tests.support.aws_handlers import LambdaContext, load_event, wire_handlers
from tests.support.aws_stack import REGION, inbox_messages
from tests.support.job_record import job_record
from tests.support.job_records import job_records

JOBS = 50
COPIES = 3  # each event delivered this many times


def _processing(job_id: str, status: str, reason: str = "") -> tuple:
    event = load_event("sagemaker_processing_completed.json", job_id)
    event["detail"]["ProcessingJobStatus"] = status
    event["detail"]["FailureReason"] = reason
    return (sagemaker_events.handler, event)


def plan(job_id: str, n: int) -> tuple[str, str, list[tuple], bool]:
    """(kind, expected final status, events, notifies) for the n-th job."""
    variant = n % 5
    if variant == 0:
        return "merge", "SUCCEEDED", [_processing(job_id, "InProgress"), _processing(job_id, "Completed")], True
    if variant == 1:
        return "convert", "FAILED", [_processing(job_id, "InProgress"), _processing(job_id, "Failed", "OOM")], True
    if variant == 2:
        stopping = _processing(job_id, "Stopping")
        return (
            "export",
            "CANCELLED",
            [_processing(job_id, "InProgress"), stopping, _processing(job_id, "Stopped")],
            False,
        )
    if variant == 3:
        name = "async_inference_success.json" if n % 2 else "async_inference_error.json"
        final = "SUCCEEDED" if n % 2 else "FAILED"
        return "txt2img", final, [(async_inference.handler, load_event(name, job_id))], False
    running = load_event("sagemaker_training_in_progress.json", job_id)
    timed_out = load_event("sfn_execution_timed_out.json", job_id)
    return "train", "FAILED", [(sagemaker_events.handler, running), (train_steps.handler, timed_out)], True


SPECS = {
    "merge": {"model_a": "a.safetensors", "model_b": "b.safetensors", "output_name": "m"},
    "convert": {"model": "a.safetensors", "output_name": "c"},
    "export": {"model": "c", "output_name": "e"},
    "txt2img": {"prompt": "cat", "model": "base"},
    "train": {"base_model": "a.safetensors", "steps": 2, "output_name": "l"},
}


def atomic_item_writes(monkeypatch) -> None:
    """Make moto's UpdateItem atomic, as DynamoDB's is.

    moto checks a ConditionExpression and then writes, with no lock between: two racing
    threads can both pass the check (seen here as a doubled e-mail). DynamoDB evaluates
    the condition and the write atomically per item, which is what the handlers rely on.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    unlocked = DynamoDBBackend.update_item

    def update_item(self, *args, **kwargs):
        with lock:
            return unlocked(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", update_item)


def test_fifty_jobs_with_duplicated_shuffled_concurrent_events_end_correctly(stack, monkeypatch):
    atomic_item_writes(monkeypatch)
    wire_handlers(monkeypatch, stack)
    records = job_records(boto3.resource("dynamodb", region_name=REGION).Table(stack["jobs_table"]))
    expected, notifying, deliveries = {}, set(), []
    for n in range(JOBS):
        job_id = f"{n:032x}"
        kind, final, events, notifies = plan(job_id, n)
        records.put_new(job_record(job_id, kind, SPECS[kind], status="STARTING"))
        expected[job_id] = final
        if notifies:
            notifying.add(job_id)
        deliveries += [(job_id, handler, copy.deepcopy(event)) for handler, event in events for _ in range(COPIES)]
    random.Random(4).shuffle(deliveries)
    # Out of order for real: for some jobs the last event of the plan arrives first.
    first: dict[str, dict] = {}
    for job_id, _, event in deliveries:
        first.setdefault(job_id, event)
    last_planned = {job_id: events[-1][1] for job_id, events in ((j, plan(j, int(j, 16))[2]) for j in expected)}
    assert sum(first[j] == last_planned[j] for j in expected) >= 10

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda d: d[1](d[2], LambdaContext()), deliveries))

    assert len(results) == len(deliveries)
    finals = {job_id: records.get(job_id).status for job_id in expected}
    wrong = {j: (finals[j], want) for j, want in expected.items() if finals[j] != want}
    assert not wrong, f"jobs in the wrong final state (got, want): {wrong}"
    mails = inbox_messages(stack)
    mailed = [job_id for job_id in notifying for m in mails if job_id in m["message"]]
    assert sorted(mailed) == sorted(notifying), "each notifying job must e-mail exactly once"
    assert len(mails) == len(notifying)
