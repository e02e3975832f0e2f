"""OpenAPI response declarations shared by the routers (errors documented once)."""

from __future__ import annotations

from .schemas import ErrorBody

_MEANING = {
    400: "bad input; the message says what to fix",
    401: "missing x-api-key",
    403: (
        "wrong x-api-key. Behind API Gateway the gateway answers itself, before the function: "
        '{"message": "Forbidden"} for a missing or wrong key, and {"message": "Missing Authentication Token"} '
        "for a path or stage it does not have (an API URL without /v1, a misspelt route)"
    ),
    404: "not found",
    409: "conflicts with the current state; the message says what to do",
    422: "request does not match the schema",
    503: "this deployment cannot do that yet; the message says what is missing",
    507: "the disk holding the server's data is full; the message names it, and nothing was half-written",
}


def _error(code: int) -> dict:
    return {"description": _MEANING[code], "content": {"application/json": {"model": ErrorBody}}}


def documented(*errors: int, created=None) -> dict:
    """Responses for a route: 401/403/422 always, plus `errors`; `created` documents a 201 body."""
    responses = {code: _error(code) for code in sorted({401, 403, 422, *errors})}
    if created is not None:
        responses[201] = {"description": "created", "content": {"application/json": {"model": created}}}
    else:
        responses[200] = {"description": "success"}
    return responses
