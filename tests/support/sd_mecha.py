"""sd-mecha's published model configs, read as data (YAML, never imported as code).

They are the independent description of the original single-file layouts the tests'
checkpoints, LoRAs and VAEs are built from (see checkpoint_layouts and catalog_files).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


def sd_mecha_configs() -> Path | None:
    spec = importlib.util.find_spec("sd_mecha")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "extensions" / "builtin" / "model_configs"
    return folder if folder.is_dir() else None


@cache
def published_keys(name: str) -> dict[str, dict]:
    """{key: its YAML spec (shape, dtype, …)} over every component of config `name`."""
    import yaml

    folder = sd_mecha_configs()
    assert folder is not None, "sd-mecha's published key lists are missing (run .ci/convert_test_data.sh)"
    doc = yaml.safe_load((folder / f"{name}.yaml").read_text())
    return {key: spec for comp in doc["components"].values() for key, spec in comp.items()}
