"""The API's resolver: the request-scoped REST resolver whose path parameters are a whole segment.

Powertools matches a `<name>` only against a fixed set of URL characters, which holds no
em dash, no "#", no emoji. Dispatch decodes the path once (sam_app/api/dispatch.py), so a
parameter is whatever lies between two slashes; the domain rules decide whether it is a
valid name, with a message, instead of a "no such route".
"""

from __future__ import annotations

import re

from .request_scope import RequestScopedResolver

_PARAMETER = re.compile(r"(<\w+>)")


class SegmentResolver(RequestScopedResolver):
    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}/*$"):  # trailing slashes allowed, as the REST resolver
        return re.compile(base_regex.format(_PARAMETER.sub(r"(?P\1[^/]+)", rule)))
