"""Browse, inspect and delete models."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from sam_app.core.models_service import DEFAULT_PAGE, MAX_PAGE
from sam_app.core.services import Services

from ..responses import documented
from ..schemas import Deleted, ModelInfo, ModelPage

ModelType = Annotated[
    str, Path(max_length=64, description="model folder, e.g. Stable-diffusion, or diffusers (converted models)")
]
ModelName = Annotated[str, Path(max_length=255, description="file name inside the folder (a converted model's name)")]


def build(svc: Services) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.get("/models", summary="List models, page by page", responses=documented(400))
    def list_models(
        type: Annotated[
            str | None, Query(max_length=64, description="one model folder, or diffusers; all when omitted")
        ] = None,
        prefix: Annotated[str, Query(max_length=200, description="file-name prefix filter")] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(max_length=1024, description="next_cursor of the previous page")] = None,
    ) -> ModelPage:
        return ModelPage.model_validate(svc.models.list_models(type, prefix, limit, cursor))

    @router.get(
        "/models/<model_type>/<name>",
        summary="One model: size, hash, format, safetensors summary",
        responses=documented(400, 404),
    )
    def model_info(model_type: ModelType, name: ModelName) -> ModelInfo:
        return ModelInfo.model_validate(svc.models.model_info(model_type, name))

    @router.delete("/models/<model_type>/<name>", summary="Delete a model", responses=documented(400, 404))
    def delete_model(model_type: ModelType, name: ModelName) -> Deleted:
        return Deleted.model_validate(svc.models.delete_model(model_type, name))

    return router
