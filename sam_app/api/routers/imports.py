"""Server-side imports: an `import` job (local runner, or a processing job on AWS)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from sam_app.core.services import Services
from sdaws.contract.import_spec import KIND, redact_url

from ..catalog_schemas import CreateImport
from ..job_schemas import Job
from ..responses import documented
from .jobs import IdempotencyKey, JobsUnavailable


def build(svc: Services | None) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.post(
        "/imports",
        summary="Import a model from an https URL or Hugging Face (a job; follow it under /jobs)",
        responses=documented(503, 400, 409, created=Job),
    )
    def create_import(
        body: CreateImport,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Job]:
        if svc is None or svc.jobs is None:
            raise JobsUnavailable("this deployment has no job compute configured")
        params = body.model_dump(exclude={"token", "sha256"}, exclude_none=True)
        if body.sha256:
            params["expected_sha256"] = body.sha256.lower()
        label = f"import {body.name or redact_url(body.source)}"[:100]
        job, created = svc.jobs.submit(KIND, params, label, idempotency_key, secret=body.token)
        return Response(
            status_code=201 if created else 200, content_type="application/json", body=Job.model_validate(job)
        )

    return router
