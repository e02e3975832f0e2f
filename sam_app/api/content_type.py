"""Bodies must be JSON: any other declared media type is refused before parsing.

Powertools would try to parse form and multipart bodies itself (and fail with a 500
on a malformed boundary); this API has no such routes, so say 415 up front.
"""

from __future__ import annotations

from .auth import header, proxy_error


def check(event: dict) -> dict | None:
    """None when the body may be parsed as JSON, else the 415 proxy response."""
    if not event.get("body"):
        return None
    declared = (header(event, "content-type") or "application/json").split(";")[0].strip().lower()
    if declared == "application/json" or declared.endswith("+json"):
        return None
    return proxy_error(
        415, "unsupported_media_type", f"send the body as JSON (Content-Type: application/json), not {declared}"
    )
