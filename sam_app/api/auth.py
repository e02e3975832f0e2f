"""Every route requires the token in `x-api-key`, checked before any routing or validation."""

from __future__ import annotations

import json

from sam_app.core.ports import TokenVerifier

HEADER = "x-api-key"


def header(event: dict, wanted: str) -> str | None:
    """A request header by lower-case name, from either proxy-event header map."""
    for source in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
        for name, value in source.items():
            if name.lower() == wanted:
                return (value[0] if value else None) if isinstance(value, list) else value
    return None


def presented_token(event: dict) -> str | None:
    return header(event, HEADER)


def proxy_error(status: int, code: str, message: str) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": code, "message": message}),
        "isBase64Encoded": False,
    }


def check(event: dict, verifier: TokenVerifier) -> dict | None:
    """None when the request may proceed, else the API Gateway proxy response refusing it."""
    token = presented_token(event)
    if not token:
        return proxy_error(401, "unauthorized", f"missing {HEADER} header; send the API token")
    if not verifier.verify(token):
        return proxy_error(403, "forbidden", f"{HEADER} is not valid; check the API token")
    return None
