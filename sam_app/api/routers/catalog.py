"""The model catalog: search, duplicates, NAME.json edits and previews (WebUI sidecars)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from sam_app.core.catalog_service import DEFAULT_PAGE, MAX_PAGE, CatalogService
from sam_app.core.services import Services
from sdaws.contract.errors import InvalidInput, SdawsError

from ..catalog_schemas import Duplicates, PreviewSet, SearchPage, SetPreview, UserMetadata, UserMetadataEdit
from ..responses import documented

ModelType = Annotated[str, Path(max_length=64, description="model folder, e.g. Lora")]
ModelName = Annotated[str, Path(max_length=255, description="file name inside the folder")]


class CatalogUnavailable(SdawsError):
    code = "catalog_unavailable"


def catalog_of(svc: Services | None) -> CatalogService:
    if svc is None or svc.catalog is None:
        raise CatalogUnavailable("this deployment has no model catalog configured")
    return svc.catalog


def build(svc: Services | None) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.get(
        "/models/search",
        summary="Search every folder by name, tag / trigger word, base family, hash prefix (paged)",
        responses=documented(400, 503),
    )
    def search_models(
        q: Annotated[str | None, Query(max_length=200, description="words the name or title must all hold")] = None,
        tag: Annotated[str | None, Query(max_length=200, description="a trigger word or training tag")] = None,
        family: Annotated[str | None, Query(max_length=16, description="SD1, SD2 or SDXL")] = None,
        hash: Annotated[str | None, Query(max_length=80, description="sha256, AutoV2 or a hex prefix")] = None,
        type: Annotated[str | None, Query(max_length=64, description="one model folder; all when omitted")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(max_length=1024, description="next_cursor of the previous page")] = None,
    ) -> SearchPage:
        found = catalog_of(svc).search(q, tag, family, hash, type, limit, cursor)
        return SearchPage.model_validate(found)

    @router.get(
        "/models/duplicates",
        summary="Models with equal sha256, most space wasted first",
        responses=documented(503),
    )
    def duplicate_models() -> Duplicates:
        return Duplicates.model_validate(catalog_of(svc).duplicates())

    @router.patch(
        "/models/<model_type>/<name>/metadata",
        summary="Edit NAME.json (description, activation text, preferred weight, notes…) under the WebUI's keys",
        responses=documented(400, 404, 409, 503),
    )
    def edit_metadata(model_type: ModelType, name: ModelName, body: UserMetadataEdit) -> UserMetadata:
        edits = body.model_dump(exclude_unset=True)
        return UserMetadata.model_validate(catalog_of(svc).edit_user_metadata(model_type, name, edits))

    @router.put(
        "/models/<model_type>/<name>/preview",
        summary="Set the preview (NAME.preview.<ext>) from an image or a job's output image",
        responses=documented(400, 404, 503),
    )
    def set_preview(model_type: ModelType, name: ModelName, body: SetPreview) -> PreviewSet:
        catalog = catalog_of(svc)
        if (body.image_base64 is None) == (body.job_id is None):
            raise InvalidInput("give either image_base64, or job_id and output")
        if body.job_id is not None:
            if not body.output:
                raise InvalidInput("output is missing: the image's name in the job's outputs")
            return PreviewSet.model_validate(catalog.set_preview_from_job(model_type, name, body.job_id, body.output))
        try:
            image = base64.b64decode(body.image_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("image_base64 is not base64") from None
        return PreviewSet.model_validate(catalog.set_preview(model_type, name, image))

    return router
