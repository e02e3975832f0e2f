"""Job records as the job service creates them, for launcher and handler tests."""

from __future__ import annotations

from sam_app.core.jobs_ports import JobInput, JobRecord

DEFAULT_INPUTS = {
    "train": [
        JobInput("model", "Stable-diffusion/base.safetensors"),
        JobInput("dataset", "job-inputs/cats", folder=True),
    ],
    "merge": [
        JobInput("model_a", "Stable-diffusion/a.safetensors"),
        JobInput("model_b", "Stable-diffusion/b.safetensors"),
    ],
    "convert": [JobInput("model", "Stable-diffusion/base.safetensors")],
    "export": [JobInput("model", "diffusers/base", folder=True)],
    "txt2img": [JobInput("model", "diffusers/base", folder=True), JobInput("lora", "Lora/style.safetensors")],
    "img2img": [JobInput("model", "diffusers/base", folder=True), JobInput("init_image", "job-inputs/g1/cat.png")],
}


def job_record(job_id: str, kind: str, spec: dict, status: str = "QUEUED") -> JobRecord:
    return JobRecord(
        job_id=job_id,
        kind=kind,
        name=spec.get("output_name", kind),
        status=status,
        params=dict(spec),
        spec=dict(spec),
        inputs=list(DEFAULT_INPUTS[kind]),
        created_at="2026-11-23T12:00:00+00:00",
        updated_at="2026-11-23T12:00:00+00:00",
    )
