"""txt2img on AWS, end to end and offline: the real client submits; the API (the Lambda
handler on moto) creates the default endpoint and sends the request; the job image's
CPU twin serves it as SageMaker's async endpoint does, reading its inputs from moto's S3
on the docker network and writing the image there; SageMaker's SNS notice reaches the
inference handler; the client sees the job SUCCEEDED, downloads the image and reads the
job's log lines (from the endpoint's shared CloudWatch log group)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sdaws.contract.progress import parse_line
from tests.support.aws_calls import made_in_this_test
from tests.support.tiny_models import quick_txt2img

pytestmark = [pytest.mark.docker, pytest.mark.slow]
PARAMS = quick_txt2img("tiny-sd", "a lighthouse at dusk", seed=3, preview_every=1)


def test_txt2img_from_the_client_to_an_image_on_aws(aws_end_to_end, tmp_path):
    e2e = aws_end_to_end
    job = e2e.client.submit_job("txt2img", PARAMS, idempotency_key="e2e-txt2img")
    shown = e2e.client.get_job(job["job_id"])
    assert shown["status"] == "STARTING"

    # SageMaker: the endpoint the API created is InService (moto: at once) and says so.
    sm = e2e.world.client("sagemaker")
    described = sm.describe_endpoint(EndpointName="sdaws-default")
    e2e.deliver_endpoint_event("sdaws-default", "IN_SERVICE")
    config = sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
    model = sm.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    serving = e2e.world.emulator.start_endpoint(model["PrimaryContainer"]["Environment"])
    try:
        serving.wait_until_healthy()
        [invocation] = made_in_this_test("sagemaker-runtime", "InvokeEndpointAsync")
        notice = e2e.world.emulator.invoke_async(serving, invocation, config)
    finally:
        serving.stop()
    assert notice["invocationStatus"] == "Completed", notice
    # SageMaker's notice has not come: the job still runs, and the previews the endpoint
    # uploaded while it denoised are listed, each with a URL that downloads it.
    assert e2e.client.get_job(job["job_id"])["status"] not in ("SUCCEEDED", "FAILED")
    live = e2e.client.job_outputs(job["job_id"])["outputs"]
    assert [(o["type"], o["name"]) for o in live] == [
        ("previews", "00000-step-0001.png"),
        ("previews", "00000-step-0002.png"),
    ]
    preview = e2e.client.download(live[-1]["url"], tmp_path / "preview.png")
    assert Image.open(io.BytesIO(preview.read_bytes())).size == (16, 16)  # the cheap approximation: latent size
    e2e.deliver_inference_notice(e2e.world.env["INFERENCE_SUCCESS_TOPIC_ARN"], notice)

    done = e2e.wait_for(job["job_id"], ("SUCCEEDED", "FAILED"))
    assert done["status"] == "SUCCEEDED", done
    images = [o for o in e2e.client.job_outputs(job["job_id"])["outputs"] if o["type"] == "images"]
    assert [o["name"] for o in images] == ["00000-3.png"]
    assert {o["type"] for o in done["outputs"]} == {"images", "previews"}  # the previews stay with the job
    [output] = images
    saved = e2e.client.download(output["url"], tmp_path / "image.png")
    assert Image.open(io.BytesIO(saved.read_bytes())).size == (32, 32)

    logs = e2e.client.job_logs(job["job_id"])
    events = [parse_line(line) for line in logs["lines"] if parse_line(line)]
    assert logs["complete"] is True
    assert [e["event"] for e in events][-1] == "output" and any(e["event"] == "progress" for e in events)
    assert any(line.startswith("txt2img request:") for line in logs["lines"])  # untagged, as serve wrote it
