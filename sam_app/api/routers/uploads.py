"""Resumable presigned multipart uploads."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from sam_app.core.services import Services

from ..responses import documented
from ..schemas import Aborted, CompleteUpload, CreateUpload, UploadCompleted, UploadCreated, UploadStatus

UploadId = Annotated[str, Path(max_length=64, description="upload_id from POST /uploads")]


def build(svc: Services) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.post(
        "/uploads",
        summary="Start an upload: part size and presigned part URLs",
        responses=documented(400, 409, 507, created=UploadCreated),
    )
    def create_upload(body: CreateUpload) -> Response[UploadCreated]:
        created = svc.uploads.create(body.type, body.filename, body.size, body.sha256, body.overwrite)
        return Response(status_code=201, content_type="application/json", body=UploadCreated.model_validate(created))

    @router.get(
        "/uploads/<upload_id>",
        summary="Parts already stored and URLs for the missing ones (resume)",
        responses=documented(404),
    )
    def upload_status(upload_id: UploadId) -> UploadStatus:
        return UploadStatus.model_validate(svc.uploads.status(upload_id))

    @router.post(
        "/uploads/<upload_id>/complete",
        summary="Assemble the uploaded parts into the model",
        responses=documented(404, 409, 507),
    )
    def complete_upload(upload_id: UploadId, body: Annotated[CompleteUpload | None, Body()] = None) -> UploadCompleted:
        return UploadCompleted.model_validate(svc.uploads.complete(upload_id, body.sha256 if body else None))

    @router.delete("/uploads/<upload_id>", summary="Abort an upload and drop its parts", responses=documented(404, 409))
    def abort_upload(upload_id: UploadId) -> Aborted:
        return Aborted.model_validate(svc.uploads.abort(upload_id))

    return router
