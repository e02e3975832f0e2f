"""Entry from an API Gateway proxy event to a proxy response: auth, then the app.

Powertools keeps per-request state on the resolver, so concurrent callers (the
threaded local server) each borrow their own resolver from a small pool.
"""

from __future__ import annotations

import queue
from typing import Any

from sam_app.core.services import Services

from . import auth, content_type
from .app import create_app


class Dispatcher:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._idle: queue.SimpleQueue = queue.SimpleQueue()

    def __call__(self, event: dict, context: Any = None) -> dict:
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
