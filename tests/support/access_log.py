"""The requests the in-thread local server answered, read from its access log.

The server logs each request line at DEBUG on its module's logger (never the token);
tests count them to show how often the UI asks, without a fake server in between."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

SERVER_LOGGER = "sam_app.local_server.server"


class AccessLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def count(self, method: str, path: str) -> int:
        """Requests for exactly ``path`` (any query string): "GET", "/jobs" counts lists, not one job."""
        line = re.compile(rf'"{method} {re.escape(path)}(\?\S*)? HTTP/')
        return sum(1 for text in list(self.lines) if line.search(text))


@contextmanager
def access_log() -> Iterator[AccessLog]:
    logger = logging.getLogger(SERVER_LOGGER)
    handler, level = AccessLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
