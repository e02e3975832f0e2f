"""Checks x-api-key against the stack's API Gateway key, read once per container.

API Gateway already refuses requests without the key; checking again in the
function keeps every route closed when it is invoked another way.
"""

from __future__ import annotations

import hmac
import threading


class ApiKeyVerifier:
    def __init__(self, apigateway_client, api_key_id: str) -> None:
        self.client = apigateway_client
        self.api_key_id = api_key_id
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def _expected(self) -> bytes:
        with self._lock:
            if self._value is None:
                key = self.client.get_api_key(apiKey=self.api_key_id, includeValue=True)
                self._value = key["value"].encode()
            return self._value

    def verify(self, presented: str) -> bool:
        return hmac.compare_digest(self._expected(), (presented or "").encode())
