"""Every route requires the token in `x-api-key`, checked before any routing or validation."""

from __future__ import annotations

import json

from sam_app.core.ports import TokenVerifier

HEADER = "x-api-key"


def presented_token(event: dict) -> str | None:
    for source in (event.get("headers") or {}, event.get("multiValueHeaders") or {}):
        for name, value in source.items():
            if name.lower() == HEADER:
                if isinstance(value, list):
                    value = value[0] if value else None
                return value
    return None


def _deny(status: int, code: str, message: str) -> dict:
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
        return _deny(401, "unauthorized", f"missing {HEADER} header; send the API token")
    if not verifier.verify(token):
        return _deny(403, "forbidden", f"{HEADER} is not valid; check the API token")
    return None
