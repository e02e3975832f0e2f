"""Where the embedded default keeps things when the user does not say.

One home for these places: `sdaws serve`, the TUI's embedded server and the client's
config all resolve them here, so they always share one token file and one config.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "sdaws"
CONFIG_DIR_ENV = "SDAWS_CONFIG_DIR"  # overrides the user config dir (tests, portable installs)


def default_data_dir() -> Path:
    return platformdirs.user_data_path(APP)


def default_models_dir() -> Path:
    return default_data_dir() / "models"


def default_config_dir() -> Path:
    override = os.environ.get(CONFIG_DIR_ENV)
    return Path(override) if override else platformdirs.user_config_path(APP)
