"""HMAC-signed part URLs, so the local server offers the same presigned upload path as S3.

The key lives in `<data>/part-signing.key`. It is created whole or not at all (temp
file, fsync, link into place), and a key file that is empty or short — a first start
on a full disk once left one empty, and the server then accepted forged signatures —
stops the server from starting instead of being used.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

KEY_FILE = "part-signing.key"
KEY_BYTES = 32


class UnusableSigningKey(OSError):
    """The signing key file exists but cannot be trusted (empty, short, unreadable)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unusable signing key"


class PartSigner:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < KEY_BYTES:
            raise ValueError(f"a signing key needs at least {KEY_BYTES} bytes, got {len(secret)}")
        self.secret = secret

    def _mac(self, upload_id: str, part_number: int, expires: int) -> str:
        message = f"{upload_id}:{part_number}:{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def query(self, upload_id: str, part_number: int, expires_s: int) -> str:
        expires = int(time.time()) + expires_s
        return f"expires={expires}&signature={self._mac(upload_id, part_number, expires)}"

    def valid(self, upload_id: str, part_number: int, expires: str | None, signature: str | None) -> bool:
        if not isinstance(expires, str) or not expires.isascii() or not expires.isdigit():
            return False
        deadline = int(expires)
        if deadline < time.time():
            return False
        return hmac.compare_digest(self._mac(upload_id, part_number, deadline), signature or "")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_or_create_key(data_dir: Path) -> bytes:
    """The data dir's signing key, made on first use; raises UnusableSigningKey for a bad file."""
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        temp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(8)}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(KEY_BYTES))
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(temp, path)  # never replaces a key another server made meanwhile
            except FileExistsError:
                pass
            _fsync_dir(path.parent)
        except OSError as exc:
            raise UnusableSigningKey(
                f"cannot create the signing key {path}: {exc.strerror or exc}; "
                "free some space on that disk (or fix its permissions), then start again"
            ) from None
        finally:
            temp.unlink(missing_ok=True)
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise UnusableSigningKey(f"cannot read the signing key {path}: {exc.strerror or exc}") from None
    if len(key) < KEY_BYTES:
        raise UnusableSigningKey(
            f"the signing key {path} is {'empty' if not key else f'only {len(key)} bytes'} "
            f"(needs {KEY_BYTES}; a start on a full disk?); delete it and start again: a new key is made, "
            "and upload or download URLs handed out before stop working"
        )
    return key
