"""HMAC-signed part URLs, so the local server offers the same presigned upload path as S3."""

from __future__ import annotations

import hashlib
import hmac
import time


class PartSigner:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _mac(self, upload_id: str, part_number: int, expires: int) -> str:
        message = f"{upload_id}:{part_number}:{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def query(self, upload_id: str, part_number: int, expires_s: int) -> str:
        expires = int(time.time()) + expires_s
        return f"expires={expires}&signature={self._mac(upload_id, part_number, expires)}"

    def valid(self, upload_id: str, part_number: int, expires: str, signature: str) -> bool:
        try:
            deadline = int(expires)
        except (TypeError, ValueError):
            return False
        if deadline < time.time():
            return False
        return hmac.compare_digest(self._mac(upload_id, part_number, deadline), signature or "")
