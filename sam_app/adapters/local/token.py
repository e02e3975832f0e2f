"""The local server's token: SDAWS_TOKEN wins; otherwise generated once and kept 0600."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

TOKEN_FILE = "token"
MIN_TOKEN_LENGTH = 16  # generated tokens are 43 characters; a short one can be guessed


def check_token(token: str, source: str) -> str:
    """`token` when it is long enough to guard the API, else ValueError saying where it came from."""
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"the API token {source} is {len(token)} characters; use at least {MIN_TOKEN_LENGTH} "
            "(or leave it out, and one is generated)"
        )
    return token


class StaticTokenVerifier:
    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the API token is empty; every request would need to present an empty key")
        self._token = token.encode()

    def verify(self, presented: str) -> bool:
        return hmac.compare_digest(self._token, (presented or "").encode())


def new_token() -> str:
    """43 URL-safe characters, never starting with '-': `--token -x…` would read as an option."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def load_or_create_token(config_dir: Path) -> str:
    from_env = os.environ.get("SDAWS_TOKEN", "").strip()
    if from_env:
        return from_env
    path = Path(config_dir) / TOKEN_FILE
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    token = new_token()
    # O_EXCL + 0600: created private from the first byte, never readable by others.
    temp = path.with_name(f".{TOKEN_FILE}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    try:
        os.link(temp, path)  # fails if another process created the token first
    except FileExistsError:
        token = path.read_text().strip()
    finally:
        os.unlink(temp)
    return token
