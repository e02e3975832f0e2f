"""`io_worker`: Textual's ``@work(thread=True, exclusive=..., group=...)`` that never crashes the app.

Every blocking API call in the UI runs in such a worker. An ApiError becomes an
error notification (its message already says what to fix); any other exception
is logged and shown the same way, so a bug in one action never takes the whole
app down with it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from textual import work

from sdaws.client.api import ApiError

logger = logging.getLogger(__name__)


def io_worker(*, group: str, exclusive: bool = True, title: str = "") -> Callable:
    def decorator(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def guarded(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except ApiError as exc:
                self.app.notify(str(exc), title=title or "sdaws", severity="error", markup=False, timeout=8)
            except Exception as exc:
                logger.exception("worker %s failed", method.__name__)
                self.app.notify(
                    f"{type(exc).__name__}: {exc}",
                    title=title or "Unexpected error",
                    severity="error",
                    markup=False,
                    timeout=10,
                )
            return None

        return work(guarded, thread=True, exclusive=exclusive, group=group, exit_on_error=False)

    return decorator
