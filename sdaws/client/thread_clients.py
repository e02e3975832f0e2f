"""One httpx.Client per thread, made on first use and all closed together.

httpx clients are not meant to be shared across threads; the API client and the
part uploader both run in several worker threads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx


class ThreadClients:
    def __init__(self, make: Callable[[], httpx.Client]) -> None:
        self._make = make
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    def get(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._make()
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
