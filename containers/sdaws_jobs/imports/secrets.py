"""The import's credential: read from where the launcher put it, handed to the one place
that sends it, never printed. See sdaws.contract.import_spec for how it travels."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sdaws.contract.import_spec import HF_TOKEN_ENVS, TOKEN_ENV, TOKEN_FILE_NAME

MAX_TOKEN_BYTES = 8192


def import_token(config_dir: Path, env: Mapping[str, str] = os.environ) -> str | None:
    """The bearer token for an https source: the job's token file, else $SDAWS_IMPORT_TOKEN."""
    path = config_dir / TOKEN_FILE_NAME
    try:
        with open(path, "rb") as fh:
            text = fh.read(MAX_TOKEN_BYTES).decode("utf-8", "replace").strip()
    except (FileNotFoundError, NotADirectoryError):
        text = ""
    return text or (env.get(TOKEN_ENV) or "").strip() or None


def hub_token(config_dir: Path, env: Mapping[str, str] = os.environ) -> str | None:
    """The Hugging Face token: the import's own token, else HF_TOKEN, else HF_API_TOKEN
    (the older name many users still export)."""
    own = import_token(config_dir, env)
    if own:
        return own
    for name in HF_TOKEN_ENVS:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every secret replaced, for anything that reaches a log or an event."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
