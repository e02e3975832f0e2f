"""Entry from an API Gateway proxy event to a proxy response: auth, then the app.

Powertools keeps per-request state on the resolver (routes' context) and, worse, the
current event on its router class. The resolvers built here keep the event per thread
(request_scope.RequestScopedResolver); each one is lent to one request at a time from
a small pool. Where the start-up probe shows that powertools no longer reads the event
the way that relies on, every request is serialized with one lock instead: slower,
never wrong. Lambda runs one event per process, so only the threaded local server
depends on this.

Path parameters arrive percent-encoded, from API Gateway and from the local server
alike (a model named "my model [v2].safetensors" is `my%20model%20%5Bv2%5D.safetensors`):
they are decoded here, once, for both worlds. An encoded "/" stays encoded, so a name
can never become two path segments.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from typing import Any
from urllib.parse import unquote

from sam_app.core.services import Services

from . import auth, body_limits, content_type
from .app import create_app
from .request_scope import isolates_concurrent_requests

logger = logging.getLogger(__name__)


def _decode_segment(segment: str) -> str:
    return unquote(segment, errors="strict").replace("/", "%2F")


def decoded_path(event: dict) -> dict:
    """The event with its path (and any pathParameters) percent-decoded, segment by segment."""
    path = event.get("path") or "/"
    try:
        decoded = "/".join(_decode_segment(segment) for segment in path.split("/"))
        parameters = {k: unquote(v, errors="strict") for k, v in (event.get("pathParameters") or {}).items()}
    except UnicodeDecodeError:
        return event  # not UTF-8 once decoded: left alone, so it matches no name and answers 404
    return event | {"path": decoded, "pathParameters": parameters or event.get("pathParameters")}


class Dispatcher:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._serial: threading.Lock | contextlib.nullcontext = contextlib.nullcontext()
        if not isolates_concurrent_requests():
            logger.warning("this powertools version shares the current event across threads; serializing requests")
            self._serial = threading.Lock()

    def __call__(self, event: dict, context: Any = None) -> dict:
        try:
            return self._dispatch(event, context)
        except Exception:  # e.g. AWS unreachable during the token check: a JSON 500, not a 502
            logger.exception("request failed before the app could answer")
            return auth.proxy_error(500, "internal", "internal error; see the server log")

    def _dispatch(self, event: dict, context: Any) -> dict:
        refused = auth.check(event, self.services.tokens) or content_type.check(event) or body_limits.check(event)
        if refused is not None:
            return refused
        event = decoded_path(event)
        try:
            app = self._idle.get_nowait()
        except queue.Empty:
            app = create_app(self.services)
        try:
            with self._serial:
                return app.resolve(event, context)
        finally:
            self._idle.put(app)
