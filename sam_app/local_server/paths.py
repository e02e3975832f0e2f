"""Where the embedded default keeps things when the user does not say."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP = "sdaws"


def default_data_dir() -> Path:
    return platformdirs.user_data_path(APP)


def default_models_dir() -> Path:
    return default_data_dir() / "models"


def default_config_dir() -> Path:
    return platformdirs.user_config_path(APP)
