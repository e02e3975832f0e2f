"""Request and response bodies of the jobs API (they generate the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sdaws.contract.specs import JOB_KINDS

from .schemas import STRICT

JobKind = Literal[*JOB_KINDS]  # type: ignore[valid-type]  # the contract's kinds, never a second list
JobStatus = Literal["QUEUED", "STARTING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"]


class CreateJob(BaseModel):
    model_config = STRICT

    kind: JobKind
    params: dict[str, Any] = Field(
        description="the kind's parameters (see sdaws.contract.specs), validated strictly: numbers as JSON numbers "
        '("steps": 20, not "20"), booleans as true/false; prompts up to 3,000 characters, and a job\'s total work '
        "(images × steps × pixels, training steps × batch × pixels) is bounded. Models as "
        "`Stable-diffusion/x.safetensors`, `diffusers/<name>` or, for train, a Hugging Face repo id; job inputs as "
        "POST /job-inputs keys"
    )
    name: str | None = Field(default=None, min_length=1, max_length=100, description="a label; default from the params")


class JobProgress(BaseModel):
    step: int | None = None
    total: int | None = None
    eta_s: float | None = None
    message: str | None = None


class JobOutput(BaseModel):
    type: str = Field(description="model folder (Stable-diffusion, Lora, diffusers) or images/samples")
    name: str
    key: str
    size: int | None = None


class JobSummary(BaseModel):
    """A job as listings show it: everything but its params (GET /jobs/<id> has those)."""

    job_id: str
    kind: JobKind
    name: str
    status: JobStatus
    progress: JobProgress | None
    error: str | None
    created_at: str
    updated_at: str
    started_at: str | None
    finished_at: str | None
    outputs: list[JobOutput]


class Job(JobSummary):
    params: dict[str, Any]


class JobPage(BaseModel):
    jobs: list[JobSummary] = Field(description="summaries, newest first; GET /jobs/<id> for a job's params")
    next_cursor: str | None


class JobLogPage(BaseModel):
    lines: list[str]
    next_cursor: str = Field(description="pass back as cursor to read on")
    at_end: bool = Field(description="no line past next_cursor yet: poll again later rather than now")
    complete: bool = Field(description="true once the job is final and every line was read")
    job: Job = Field(description="the job's record, read before the lines (final + at_end = complete)")


class JobOutputLink(JobOutput):
    url: str | None = Field(description="presigned download URL; null for folders (converted models)")


class JobOutputList(BaseModel):
    outputs: list[JobOutputLink]


class CreateJobInput(BaseModel):
    model_config = STRICT

    filename: str = Field(min_length=1, max_length=200, description="plain file name: an image or a .txt caption")
    size: int = Field(description="bytes the client will PUT")
    group: str | None = Field(default=None, max_length=64, description="collects a dataset; new when omitted")


class JobInputSlot(BaseModel):
    key: str = Field(description="job-inputs/<group>/<filename>: what params name")
    group: str
    url: str = Field(description="PUT the file's bytes here (presigned)")
    method: Literal["PUT"]
