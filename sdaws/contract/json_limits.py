"""How deeply untrusted JSON may nest: request bodies and safetensors headers.

Python's JSON decoder recurses; so do deepcopy, json.dumps and pydantic. A body or a
header nested a few thousand levels deep parses (or nearly does) and then breaks
whatever touches it next with a RecursionError. Nothing legitimate nests deeply — job
params are four levels, a safetensors header three — so refuse depth early, iteratively.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

MAX_JSON_DEPTH = 32


class TooDeep(ValueError):
    """The JSON text is nested deeper than allowed."""


def nesting_depth_exceeds(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when containers in `value` nest deeper than `limit` (a scalar is depth 0)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[object]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def loads_bounded(text: str | bytes, limit: int = MAX_JSON_DEPTH):
    """json.loads that raises TooDeep instead of RecursionError or a too-deep value.

    Other failures are ValueError (json.JSONDecodeError, or an integer longer than
    Python's 4,300-digit conversion limit) or UnicodeDecodeError for bytes.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(f"JSON nests deeper than {limit} levels") from None
    if nesting_depth_exceeds(value, limit):
        raise TooDeep(f"JSON nests deeper than {limit} levels")
    return value
