"""Turn a resolved :class:`~sdaws.client.config.Target` into a live client.

For a remote target that is just an :class:`ApiClient`. For the local target it is a
client of the local server (`sdaws.client.local_server`): the one already running over
this model root, or one started for this connection — in this process, stopped again on
``close()``, or (``outlive_me``, for CLI commands that submit jobs) in the background.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdaws.client.api import ApiClient
from sdaws.client.config import Target
from sdaws.client.local_server import LocalServer, local_server


@dataclass
class Connection:
    client: ApiClient
    target: Target
    local: LocalServer | None = None

    @property
    def server(self):
        """The in-process server's handle, when this connection started one (None otherwise)."""
        return self.local.handle if self.local is not None else None

    @property
    def label(self) -> str:
        if self.local is not None:
            return f"local · {self.local.models_dir}"
        return self.client.base_url.rstrip("/")

    @property
    def scope(self) -> str:
        """Stable name of this API for upload state (a local server's port changes per start)."""
        return f"local:{self.local.models_dir}" if self.local is not None else self.client.base_url

    def close(self) -> None:
        self.client.close()
        if self.local is not None:
            self.local.stop()


def connect(target: Target, *, outlive_me: bool = False) -> Connection:
    """Open the connection ``target`` describes (finding or starting the local server if needed)."""
    if not target.is_local:
        return Connection(ApiClient(target.url or "", target.token), target)
    server = local_server(target.models_dir or None, outlive_me=outlive_me)
    # A token given on the command line is sent as given: a wrong one is refused, as remotely.
    return Connection(ApiClient(server.url, target.token or server.token), target, local=server)
