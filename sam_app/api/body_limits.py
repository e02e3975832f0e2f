"""JSON bodies the app could not survive are refused before powertools parses them.

Powertools answers malformed JSON itself (422); what it cannot answer is a body that
makes the decoder recurse too deep, one nested deep enough to break what handles it
next (deepcopy, json.dumps, pydantic), or an integer past Python's digit limit: those
were 500s. They get 400 here, with the reason.
"""

from __future__ import annotations

import base64
import binascii
import json

from sdaws.contract.json_limits import MAX_JSON_DEPTH, TooDeep, loads_bounded

from .auth import proxy_error


def check(event: dict) -> dict | None:
    """None when the body may go on to the app, else the 400 proxy response."""
    body = event.get("body")
    if not body:
        return None
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body
        loads_bounded(raw)
    except TooDeep:
        return proxy_error(400, "bad_body", f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    except json.JSONDecodeError:
        return None  # powertools says where the JSON is malformed (422)
    except (ValueError, binascii.Error) as exc:  # UnicodeDecodeError is a ValueError too
        return proxy_error(400, "bad_body", f"request body is not valid JSON: {str(exc)[:200]}")
    return None
