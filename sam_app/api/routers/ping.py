"""Test Connection and the tree's rules."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from sam_app import __version__
from sam_app.core.services import Services
from sdaws.contract.model_tree import (
    DEFAULT_EXTENSION,
    EXTENSIONS,
    FOLDER_USES,
    MODEL_TYPES,
    REQUIRED_TYPE,
    extensions_for,
    unsupported_reason,
)

from ..responses import documented
from ..schemas import ModelType, ModelTypes, Ping


def build(svc: Services) -> APIGatewayRouter:
    router = APIGatewayRouter()

    @router.get("/ping", summary="Test Connection: version and mode", responses=documented())
    def ping() -> Ping:
        return Ping(version=__version__, mode=svc.mode)

    @router.get("/model-types", summary="The model-tree folders and allowed file extensions", responses=documented())
    def model_types() -> ModelTypes:
        return ModelTypes(
            types=[
                ModelType(
                    name=t,
                    required=t == REQUIRED_TYPE,
                    extensions=list(extensions_for(t)),
                    used_by=list(FOLDER_USES.get(t, ())),
                    unsupported=unsupported_reason(t),
                )
                for t in MODEL_TYPES
            ],
            extensions=list(EXTENSIONS),
            default_extension=DEFAULT_EXTENSION,
        )

    return router
