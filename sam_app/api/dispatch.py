"""Entry from an API Gateway proxy event to a proxy response: auth, then the app.

Powertools keeps per-request state on the resolver, so concurrent callers (the
threaded local server) each borrow their own resolver from a small pool.
"""

from __future__ import annotations

import logging
import queue
from typing import Any

from sam_app.core.services import Services

from . import auth, content_type
from .app import create_app

logger = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._idle: queue.SimpleQueue = queue.SimpleQueue()

    def __call__(self, event: dict, context: Any = None) -> dict:
        try:
            return self._dispatch(event, context)
        except Exception:  # e.g. AWS unreachable during the token check: a JSON 500, not a 502
            logger.exception("request failed before the app could answer")
            return auth.proxy_error(500, "internal", "internal error; see the server log")

    def _dispatch(self, event: dict, context: Any) -> dict:
        refused = auth.check(event, self.services.tokens) or content_type.check(event)
        if refused is not None:
            return refused
        try:
            app = self._idle.get_nowait()
        except queue.Empty:
            app = create_app(self.services)
        try:
            return app.resolve(event, context)
        finally:
            self._idle.put(app)
