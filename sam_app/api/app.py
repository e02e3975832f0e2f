"""The one API app, served by the Lambda handler and by the embedded local server alike."""

from __future__ import annotations

import json
import logging

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from sam_app.core.job_refs import InvalidParams
from sam_app.core.services import Services
from sdaws.contract.errors import Conflict, InvalidInput, NotFound, SdawsError, StorageFull

from .resolver import SegmentResolver
from .routers import catalog, endpoints, imports, jobs, models, ping, uploads

logger = logging.getLogger(__name__)

ROUTERS = (ping, catalog, models, uploads, jobs, imports, endpoints)
# Domain error -> HTTP status, in this one place.
STATUS_BY_ERROR: dict[type[SdawsError], int] = {
    InvalidInput: 400,
    NotFound: 404,
    Conflict: 409,
    InvalidParams: 422,
    jobs.JobsUnavailable: 503,
    catalog.CatalogUnavailable: 503,
    StorageFull: 507,
}


def error_response(status: int, code: str, message: str, **extra) -> Response:
    body = {"error": code, "message": message} | extra
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def _describe_validation(errors: list) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "request is not valid"


def create_app(svc: Services | None) -> APIGatewayRestResolver:
    app: APIGatewayRestResolver = SegmentResolver(enable_validation=True)
    for module in ROUTERS:
        app.include_router(module.build(svc))

    @app.exception_handler(SdawsError)
    def domain_error(exc: SdawsError) -> Response:
        return error_response(STATUS_BY_ERROR.get(type(exc), 400), exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    def validation_error(exc: RequestValidationError) -> Response:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return error_response(422, "validation_error", _describe_validation(errors), detail=errors)

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported_media_type(exc: RequestUnsupportedContentType) -> Response:
        return error_response(
            415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json"
        )

    @app.exception_handler(UnicodeDecodeError)
    def undecodable_body(exc: UnicodeDecodeError) -> Response:
        return error_response(400, "bad_body", "request body must be UTF-8 JSON")

    @app.exception_handler(NotFoundError)
    def no_route(exc: NotFoundError) -> Response:
        return error_response(404, "no_route", "no such route; see sam_app/openapi.json for the API")

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response:
        # Log the cause for operators; the client gets no internals.
        logger.exception("unhandled error")
        return error_response(500, "internal", "internal error; see the server log")

    return app
