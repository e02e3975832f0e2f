"""Browse, inspect and delete models."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from sam_app.core.models_service import DEFAULT_PAGE, MAX_PAGE
from sam_app.core.services import Services
from sdaws.contract.errors import InvalidInput
from sdaws.contract.model_tree import MODEL_TYPES, canonical_type

from ..catalog_schemas import CatalogModelInfo, HashMatches
from ..responses import documented
from ..schemas import Deleted, ModelPage
from .catalog import catalog_of

ModelType = Annotated[
    str, Path(max_length=64, description="model folder, e.g. Stable-diffusion, or diffusers (converted models)")
]
ModelName = Annotated[str, Path(max_length=255, description="file name inside the folder (a converted model's name)")]


def is_tree_folder(model_type: str) -> bool:
    """A WebUI model folder (whose files have sidecars), not the converted diffusers/ prefix."""
    try:
        return canonical_type(model_type) in MODEL_TYPES
    except InvalidInput:
        return False


def build(svc: Services) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.get(
        "/models",
        summary="List models, page by page; with hash=, the models with that sha256 / AutoV2",
        responses=documented(400),
    )
    def list_models(
        type: Annotated[
            str | None, Query(max_length=64, description="one model folder, or diffusers; all when omitted")
        ] = None,
        prefix: Annotated[str, Query(max_length=200, description="file-name prefix filter")] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(max_length=1024, description="next_cursor of the previous page")] = None,
        hash: Annotated[
            str | None, Query(max_length=80, description="sha256, AutoV2 (10 hex digits) or a hex prefix: find by hash")
        ] = None,
    ) -> ModelPage | HashMatches:
        if hash is not None:
            return HashMatches.model_validate(catalog_of(svc).find_by_hash(hash))
        return ModelPage.model_validate(svc.models.list_models(type, prefix, limit, cursor))

    @router.get(
        "/models/<model_type>/<name>",
        summary="One model: size, hash, format, safetensors summary",
        responses=documented(400, 404),
    )
    def model_info(model_type: ModelType, name: ModelName) -> CatalogModelInfo:
        info = svc.models.model_info(model_type, name)
        if svc.catalog is not None and info["type"] in MODEL_TYPES:  # a converted diffusers/ folder has no sidecars
            details = svc.catalog.details(model_type, name)
            state = details.pop("hash")
            for field in ("type", "name", "size", "modified"):
                details.pop(field, None)
            if details.get("preview") and svc.jobs is not None:  # the bytes come by URL, as job outputs do
                details["preview_url"] = svc.jobs.download_url(details["preview"])
            info |= {"hash": state, "catalog": details}
            if state.get("status") == "done":
                info["sha256"] = state.get("sha256")
        return CatalogModelInfo.model_validate(info)

    @router.delete("/models/<model_type>/<name>", summary="Delete a model", responses=documented(400, 404))
    def delete_model(model_type: ModelType, name: ModelName) -> Deleted:
        if svc.catalog is not None and is_tree_folder(model_type):  # sidecars go with their model
            svc.catalog.delete_sidecars(model_type, name)
        return Deleted.model_validate(svc.models.delete_model(model_type, name))

    return router
