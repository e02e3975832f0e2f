"""Where the TUI and CLI find their API: flags, environment, files, or the embedded server.

Resolution, first match wins:

1. ``--api`` / ``--token`` flags;
2. ``SDAWS_API_URL`` / ``SDAWS_TOKEN`` environment variables;
3. ``sagemaker_ui.json`` (``api_gateway_url``, ``api_token``) in the current folder —
   the file WebUI-extension users already have beside their install;
4. ``config.json`` in the user config dir (what the Settings screen saves);
5. nothing configured: the embedded local server over the local model root.

The token may come from a different level than the URL (a flag token with a
config-file URL is fine); only a URL decides local versus remote.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sam_app.local_server.paths import default_config_dir

LEGACY_FILE = "sagemaker_ui.json"


def config_dir() -> Path:
    """The user config dir (``SDAWS_CONFIG_DIR`` overrides it), the one the local server uses too."""
    return default_config_dir()


def config_path() -> Path:
    return config_dir() / "config.json"


@dataclass
class Settings:
    """What the Settings screen edits and config.json stores."""

    api_url: str = ""  # empty: use the embedded local server
    api_token: str = ""
    models_dir: str = ""  # local mode only; empty: the platform default model root

    def to_json(self) -> dict:
        return {"api_url": self.api_url, "api_token": self.api_token, "models_dir": self.models_dir}


def load_settings(path: Path | None = None) -> Settings:
    """Read config.json; a missing or unreadable file gives defaults (never a crash)."""
    path = path or config_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    return Settings(
        api_url=str(raw.get("api_url") or ""),
        api_token=str(raw.get("api_token") or ""),
        models_dir=str(raw.get("models_dir") or ""),
    )


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write config.json readable by the user only: it holds an API token."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(settings.to_json(), fh, indent=2)
    os.replace(tmp, path)
    return path


def load_legacy(folder: Path | None = None) -> tuple[str, str] | None:
    """``(api_gateway_url, api_token)`` from a sagemaker_ui.json, if one is there."""
    path = (folder or Path.cwd()) / LEGACY_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict) or not raw.get("api_gateway_url"):
        return None
    return str(raw["api_gateway_url"]), str(raw.get("api_token") or "")


@dataclass
class Target:
    """The resolved connection: a remote URL, or ``url is None`` for the embedded server."""

    url: str | None
    token: str
    source: str  # human words for where the URL came from, shown in Settings
    models_dir: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def is_local(self) -> bool:
        return self.url is None


def resolve(api: str | None = None, token: str | None = None, cwd: Path | None = None) -> Target:
    """Apply the resolution order in the module docstring."""
    settings = load_settings()
    env_url = os.environ.get("SDAWS_API_URL", "")
    env_token = os.environ.get("SDAWS_TOKEN", "")
    legacy = load_legacy(cwd)

    token_choice = token or env_token
    if api:
        return Target(api, token_choice or settings.api_token, "--api flag", settings.models_dir)
    if env_url:
        return Target(env_url, token_choice or settings.api_token, "SDAWS_API_URL", settings.models_dir)
    if legacy:
        url, legacy_token = legacy
        return Target(url, token_choice or legacy_token, f"./{LEGACY_FILE}", settings.models_dir)
    if settings.api_url:
        return Target(settings.api_url, token_choice or settings.api_token, str(config_path()), settings.models_dir)
    # Local: the embedded server makes (or reads) its own token; a given one wins.
    return Target(None, token_choice, "embedded local server", settings.models_dir)
