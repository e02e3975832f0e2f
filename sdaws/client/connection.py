"""Turn a resolved :class:`~sdaws.client.config.Target` into a live client.

For a remote target that is just an :class:`ApiClient`. For the local target it
first starts the embedded API server (the same app the Lambda runs) in a thread
of this process over the local model root, and stops it again on ``close()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdaws.client.api import ApiClient, ApiError
from sdaws.client.config import Target, config_dir


@dataclass
class Connection:
    client: ApiClient
    target: Target
    server: Any = None  # the embedded server's handle (has .url and .stop())
    models_dir: Path | None = None

    @property
    def label(self) -> str:
        if self.server is not None:
            return f"local · {self.models_dir}"
        return self.client.base_url.rstrip("/")

    @property
    def scope(self) -> str:
        """Stable name of this API for upload state (the local server's port changes per start)."""
        return f"local:{self.models_dir}" if self.server is not None else self.client.base_url

    def close(self) -> None:
        self.client.close()
        if self.server is not None:
            self.server.stop()
            self.server = None


def start_local_server(models_dir: str | Path | None = None, token: str | None = None):
    """Start the embedded server; return ``(handle, token, models_dir)``."""
    try:
        from sam_app.adapters.local.token import load_or_create_token
        from sam_app.local_server.paths import default_data_dir, default_models_dir
        from sam_app.local_server.server import serve_in_thread
    except ImportError as exc:  # a broken install, not a user mistake, but say so plainly
        raise ApiError(f"The embedded local server is not available in this install: {exc}", code="no_local") from exc
    root = Path(models_dir).expanduser() if models_dir else Path(default_models_dir())
    token = token or load_or_create_token(config_dir())
    try:
        handle = serve_in_thread(
            models_dir=root, data_dir=Path(default_data_dir()), token=token, host="127.0.0.1", port=0
        )
    except OSError as exc:
        raise ApiError(f"Could not start the local server over {root}: {exc}", code="local_start") from exc
    return handle, token, root


def connect(target: Target) -> Connection:
    """Open the connection ``target`` describes (starting the local server if needed)."""
    if not target.is_local:
        return Connection(ApiClient(target.url or "", target.token), target)
    handle, token, root = start_local_server(target.models_dir or None, target.token or None)
    return Connection(ApiClient(handle.url, token), target, server=handle, models_dir=root)
