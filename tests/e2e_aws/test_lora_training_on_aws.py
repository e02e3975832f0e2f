"""LoRA training on AWS, end to end and offline: the real client sends the dataset and
submits; the API starts the training state machine (running in moto's interpreter);
the job image's CPU twin runs the training job the machine created, as SageMaker runs
it; SageMaker's state change reaches the events handler; the machine registers the LoRA
in the model tree and records the job; the client sees it SUCCEEDED, finds Lora/cat
.safetensors and reads the training job's log lines."""

from __future__ import annotations

import json
import time

import pytest
from PIL import Image

from sdaws.contract.progress import parse_line
from tests.support.aws_calls import made_in_this_test

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _dataset(folder):
    folder.mkdir()
    for i, color in enumerate([(200, 30, 30), (30, 200, 30)]):
        Image.new("RGB", (32, 32), color).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text("a photo of sks cat")
    return sorted(folder.iterdir())


def test_lora_training_from_the_client_to_a_registered_lora_on_aws(aws_end_to_end, tmp_path):
    e2e = aws_end_to_end
    group = None
    for path in _dataset(tmp_path / "cats"):  # as the TUI and `sdaws` send a dataset folder
        group = e2e.client.upload_job_input(path, group)["group"]
    params = {
        "base_model": "tiny-sd",
        "dataset": group,
        "steps": 2,
        "resolution": 32,
        "output_name": "cat",
        "seed": 1,
        "save_every_n_steps": 1,
    }
    job = e2e.client.submit_job("train", params, idempotency_key="e2e-train")

    # SageMaker: the machine's CreateTrainingJob arrived; run it from the very request.
    [start] = made_in_this_test("stepfunctions", "StartExecution")
    request = json.loads(start["input"])["training"]
    sm = e2e.world.client("sagemaker")
    for _ in range(600):  # readiness poll: the machine's first state runs in moto's thread
        try:
            arn = sm.describe_training_job(TrainingJobName=request["TrainingJobName"])["TrainingJobArn"]
            break
        except sm.exceptions.ClientError:
            time.sleep(0.2)
    else:
        raise AssertionError("the state machine never created the training job")
    detail = {"TrainingJobName": request["TrainingJobName"], "TrainingJobArn": arn, "TrainingJobStatus": "InProgress"}
    e2e.deliver_sagemaker_event("SageMaker Training Job State Change", detail)
    assert e2e.client.get_job(job["job_id"])["status"] == "RUNNING"

    run = e2e.world.emulator.run_training(request)
    assert run.exit_code == 0, "\n".join(run.lines[-40:])
    # The job itself put its intermediate checkpoint into the tree, before SageMaker's end
    # and the machine's registration of the result: a stopped training can resume from it.
    s3, bucket = e2e.world.client("s3"), e2e.world.env["MODELS_BUCKET"]
    saved = s3.get_object(Bucket=bucket, Key="Lora/cat-step00000001.safetensors")["Body"].read()
    assert saved == run.files["Lora/cat-step00000001.safetensors"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "emulator:status", "Value": "Completed"}])  # SageMaker: done
    e2e.deliver_sagemaker_event("SageMaker Training Job State Change", detail | {"TrainingJobStatus": "Completed"})

    done = e2e.wait_for(job["job_id"], ("SUCCEEDED", "FAILED"))
    assert done["status"] == "SUCCEEDED", done
    assert [o["key"] for o in done["outputs"]] == ["Lora/cat.safetensors"]
    assert [m["name"] for m in e2e.client.list_models("Lora")["items"]] == [
        "cat-step00000001.safetensors",
        "cat.safetensors",
    ]
    assert e2e.client.model_info("Lora", "cat.safetensors")["size"] == len(run.files["Lora/cat.safetensors"])
    assert any("cat" in text and "succeeded" in text for text in e2e.mail())

    logs = e2e.client.job_logs(job["job_id"])
    events = [parse_line(line) for line in logs["lines"] if parse_line(line)]
    assert logs["complete"] is True and events[-1] == {"event": "done"}
    assert any(e["event"] == "progress" for e in events)
