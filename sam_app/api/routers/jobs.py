"""Jobs: submit, list, follow, fetch outputs, cancel; and job inputs (images, datasets)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from sam_app.core.jobs_service import DEFAULT_LOG_LINES, DEFAULT_PAGE, MAX_LOG_LINES, MAX_PAGE, JobsService
from sam_app.core.services import Services
from sdaws.contract.errors import SdawsError

from ..job_schemas import (
    CreateJob,
    CreateJobInput,
    Job,
    JobInputSlot,
    JobKind,
    JobLogPage,
    JobOutputList,
    JobPage,
    JobStatus,
)
from ..responses import documented

# A submit that is retried carries the same header: the same key returns the same job.
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=128, description="retries with the same key return the same job"),
]

JobId = Annotated[str, Path(max_length=64, description="job_id from POST /jobs")]


class JobsUnavailable(SdawsError):
    code = "jobs_unavailable"


def build(svc: Services | None) -> APIGatewayRouter:
    router = APIGatewayRouter()

    def jobs() -> JobsService:
        if svc is None or svc.jobs is None:
            raise JobsUnavailable("this deployment has no job compute configured")
        return svc.jobs

    @router.post(
        "/jobs",
        summary="Submit a job (idempotent with an Idempotency-Key header)",
        responses=documented(503, 400, 409, 507, created=Job),
    )
    def create_job(
        body: CreateJob,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Job]:
        job, created = jobs().submit(body.kind, body.params, body.name, idempotency_key)
        return Response(
            status_code=201 if created else 200, content_type="application/json", body=Job.model_validate(job)
        )

    @router.get("/jobs", summary="Jobs, newest first, page by page", responses=documented(503, 400))
    def list_jobs(
        status: Annotated[JobStatus | None, Query(description="only jobs in this status")] = None,
        kind: Annotated[JobKind | None, Query(description="only jobs of this kind")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page")] = None,
    ) -> JobPage:
        return JobPage.model_validate(jobs().list(status, kind, limit, cursor))

    @router.get("/jobs/<job_id>", summary="One job: status, progress, outputs", responses=documented(503, 404))
    def get_job(job_id: JobId) -> Job:
        return Job.model_validate(jobs().get(job_id))

    @router.get(
        "/jobs/<job_id>/logs",
        summary="The job's log lines from cursor on (poll with next_cursor)",
        responses=documented(503, 400, 404),
    )
    def job_logs(
        job_id: JobId,
        cursor: Annotated[str | None, Query(max_length=64, description="next_cursor of the previous call")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LOG_LINES)] = DEFAULT_LOG_LINES,
    ) -> JobLogPage:
        return JobLogPage.model_validate(jobs().read_logs(job_id, cursor, limit))

    @router.get(
        "/jobs/<job_id>/outputs", summary="The job's outputs with download URLs", responses=documented(503, 404)
    )
    def job_outputs(job_id: JobId) -> JobOutputList:
        return JobOutputList.model_validate(jobs().list_outputs(job_id))

    @router.post("/jobs/<job_id>/cancel", summary="Cancel a queued or running job", responses=documented(503, 404, 409))
    def cancel_job(job_id: JobId) -> Job:
        return Job.model_validate(jobs().cancel(job_id))

    @router.post(
        "/job-inputs",
        summary="Send a job input (img2img image, dataset file): returns the key and a URL to PUT it to",
        responses=documented(503, 400, 507, created=JobInputSlot),
    )
    def create_job_input(body: CreateJobInput) -> Response[JobInputSlot]:
        slot = jobs().create_input(body.filename, body.size, body.group)
        return Response(status_code=201, content_type="application/json", body=JobInputSlot.model_validate(slot))

    return router
