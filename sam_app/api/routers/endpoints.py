"""Async inference endpoints: list, create or resize, delete (AWS); the one `local` endpoint locally."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from sam_app.core.endpoints import EndpointManager, EndpointRequest, LocalEndpoints
from sam_app.core.services import Services
from sdaws.contract.errors import InvalidInput

from ..endpoint_schemas import Endpoint, EndpointDeleted, EndpointList, PutEndpoint
from ..responses import documented

EndpointName = Annotated[str, Path(max_length=30, description="endpoint name")]


def build(svc: Services) -> APIGatewayRouter:
    router = APIGatewayRouter()

    def manager() -> EndpointManager:
        if svc.endpoints is not None:
            return svc.endpoints
        if svc.mode == "local":
            return LocalEndpoints()
        raise InvalidInput("endpoints are not configured in this deployment (ENDPOINT_PREFIX is unset)")

    @router.get("/endpoints", summary="Inference endpoints and their scaling", responses=documented())
    def list_endpoints() -> EndpointList:
        return EndpointList(endpoints=[Endpoint.model_validate(e) for e in manager().list()], mode=svc.mode)

    @router.post(
        "/endpoints",
        summary="Create an async endpoint or change its instance type and scaling (min 0 = idle costs nothing)",
        responses=documented(400),
    )
    def put_endpoint(body: PutEndpoint) -> Endpoint:
        request = EndpointRequest(**body.model_dump()).check()
        return Endpoint.model_validate(manager().put(request))

    @router.delete("/endpoints/<name>", summary="Delete an endpoint and its scaling", responses=documented(400, 404))
    def delete_endpoint(name: EndpointName) -> EndpointDeleted:
        return EndpointDeleted.model_validate(manager().delete(name))

    return router
