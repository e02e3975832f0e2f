"""The AWS path of the WebUI-parity specs: submitted to the job service on its AWS adapters
(moto S3 and DynamoDB), each job's launcher request carries the new fields and channels, and
what the containers read back from it (the serving request, the training hyperparameters)
is the same spec."""

from __future__ import annotations

import json

import boto3
import pytest

from sam_app.adapters.aws.sagemaker_launcher import LauncherSettings, SageMakerLauncher
from sdaws.contract.specs import parse_spec
from tests.support.aws_stack import bucket_and_tables
from tests.support.s3_jobs_service import RecordingLauncher, s3_jobs_service

BUCKET = "sdaws-models"
TREE = (
    "Stable-diffusion/base.safetensors",
    "Stable-diffusion/refiner.safetensors",
    "ControlNet/canny.safetensors",
    "embeddings/myemb.pt",
    "ESRGAN/4x.pth",
    "GFPGAN/GFPGANv1.4.pth",
    "VAE-approx/taesd_decoder.pth",
    "Lora/style.safetensors",
    "Lora/cat-step00000010.safetensors",
    "job-inputs/g/init.png",
    "job-inputs/g/mask.png",
    "job-inputs/g/edges.png",
    "job-inputs/set/a.png",
    "job-inputs/set/a.caption",
    "jobs/0123abcd/output/images/00000-1.png",
)


@pytest.fixture
def world(aws):
    s3, tables = bucket_and_tables(BUCKET, TREE)
    recorder = RecordingLauncher()
    service = s3_jobs_service(s3, BUCKET, tables, recorder)
    settings = LauncherSettings(
        bucket=BUCKET,
        image_uri="123.dkr.ecr.us-east-1.amazonaws.com/sdaws:1",
        role_arn="arn:aws:iam::123456789012:role/sdaws",
        util_instance_type="ml.m5.xlarge",
        train_instance_type="ml.g5.xlarge",
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:sdaws-train",
        endpoint_name="sdaws-generate",
    )
    launcher = SageMakerLauncher(
        boto3.client("sagemaker"), boto3.client("sagemaker-runtime"), boto3.client("stepfunctions"), s3, settings
    )
    return service, recorder, launcher


GENERATION = {
    "prompt": "a house, myemb <lora:style:0.7>",
    "model": "base.safetensors",
    "steps": 4,
    "controlnet": [{"model": "ControlNet/canny.safetensors", "image": "job-inputs/g/edges.png", "module": "canny"}],
    "enable_hr": True,
    "hr_upscaler": "4x.pth",
    "hr_scale": 1.5,
    "refiner_checkpoint": "refiner.safetensors",
    "preview_every": 2,
}


def _launched(world, kind: str, params: dict):
    service, recorder, _ = world
    service.submit(kind, params)
    return recorder.launched[-1]


def test_txt2img_with_every_new_field_reaches_the_endpoint_request(world):
    job = _launched(world, "txt2img", GENERATION)
    request = world[2].inference_request(job)
    channels = {i["channel"]: i["uri"] for i in request["inputs"]}
    assert channels == {
        "model": f"s3://{BUCKET}/Stable-diffusion/base.safetensors",
        "lora": f"s3://{BUCKET}/Lora/style.safetensors",  # from the <lora:…> tag
        "controlnet": f"s3://{BUCKET}/ControlNet/canny.safetensors",
        "control_image_0": f"s3://{BUCKET}/job-inputs/g/edges.png",
        "upscaler": f"s3://{BUCKET}/ESRGAN/4x.pth",
        "refiner": f"s3://{BUCKET}/Stable-diffusion/refiner.safetensors",
        "embeddings": f"s3://{BUCKET}/embeddings/myemb.pt",
        "vae_approx": f"s3://{BUCKET}/VAE-approx/taesd_decoder.pth",
    }
    # What the serving container parses is the spec the API checked, new fields included.
    spec = parse_spec("txt2img", json.loads(json.dumps(request["spec"])))
    assert spec.controlnet[0].model == "canny.safetensors" and spec.controlnet[0].image == "edges.png"
    assert spec.embeddings == ["myemb.pt"] and spec.hr_upscaler == "4x.pth"
    assert spec.refiner_checkpoint == "refiner.safetensors" and spec.preview_every == 2


def test_img2img_inpainting_from_a_job_output_reaches_the_endpoint_request(world):
    params = {
        "prompt": "a door",
        "model": "base.safetensors",
        "init_image": "jobs/0123abcd/output/images/00000-1.png",  # an image a job made
        "mask": "job-inputs/g/mask.png",
        "inpaint_full_res": True,
    }
    request = world[2].inference_request(_launched(world, "img2img", params))
    channels = {i["channel"]: i["uri"] for i in request["inputs"]}
    assert channels["init_image"] == f"s3://{BUCKET}/jobs/0123abcd/output/images/00000-1.png"
    assert channels["mask"] == f"s3://{BUCKET}/job-inputs/g/mask.png"
    assert parse_spec("img2img", request["spec"]).mask == "mask.png"


def test_training_parity_fields_survive_the_hyperparameters(world):
    params = {
        "base_model": "base.safetensors",
        "dataset": "set",
        "steps": 20,
        "output_name": "cat",
        "enable_bucket": True,
        "caption_extension": ".caption",
        "shuffle_caption": True,
        "keep_tokens": 1,
        "save_every_n_steps": 10,
        "resume_from": "Lora/cat-step00000010.safetensors",
    }
    job = _launched(world, "train", params)
    request = world[2].training_input(job)["training"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    assert channels["resume"] == f"s3://{BUCKET}/Lora/cat-step00000010.safetensors"
    assert all(len(v) <= 2500 for v in request["HyperParameters"].values())
    # The spec travels as the "spec" channel (a hyperparameter value is capped at 2,500
    # characters); the launcher writes job.spec there as JSON, which the job parses back.
    assert request["HyperParameters"] == {"spec_channel": "spec"}
    assert channels["spec"] == f"s3://{BUCKET}/jobs/{job.job_id}/spec/"
    back = parse_spec("train", json.loads(json.dumps(job.spec)))
    assert back.model_dump() == parse_spec("train", job.spec).model_dump() and back.save_every_n_steps == 10


def test_merge_methods_and_lora_baking_reach_the_processing_request(world):
    params = {
        "model_a": "base.safetensors",
        "model_b": "refiner.safetensors",
        "model_c": "base.safetensors",
        "mode": "ties",
        "dare": True,
        "density": 0.3,
        "block_weights": [0.5] * 25,
        "loras": [{"name": "style.safetensors", "weight": 0.5}],
        "output_name": "merged",
    }
    job = _launched(world, "merge", params)
    request = world[2].processing_request(job)
    local = {i["S3Input"]["LocalPath"].rsplit("/", 1)[-1] for i in request["ProcessingInputs"]}
    assert {"model_a", "model_b", "model_c", "lora"} <= local
    assert parse_spec("merge", job.spec).block_weights == [0.5] * 25


UPSCALE = {
    "image": "job-inputs/g/init.png",
    "upscaler_1": "ESRGAN/4x.pth",
    "gfpgan_visibility": 0.5,
    "gfpgan_model": "GFPGANv1.4.pth",
}


def test_upscale_stages_its_image_and_models_from_the_bucket(world):
    job = _launched(world, "upscale", UPSCALE)
    assert {(i.channel, i.key) for i in job.inputs} == {
        ("image", "job-inputs/g/init.png"),
        ("upscaler", "ESRGAN/4x.pth"),
        ("face_restorer", "GFPGAN/GFPGANv1.4.pth"),
    }
    assert parse_spec("upscale", job.spec).upscaler_1 == "4x.pth"


def test_upscale_reaches_a_sagemaker_request_with_its_images_kept_with_the_job(world):
    job = _launched(world, "upscale", UPSCALE)
    request = world[2].processing_request(job)
    outputs = request["ProcessingOutputConfig"]["Outputs"]
    assert outputs[0]["S3Output"]["S3Uri"] == f"s3://{BUCKET}/jobs/{job.job_id}/output/"
