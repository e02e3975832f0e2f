from __future__ import annotations

import pytest

from tests.support.env import need, torch_available


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory):
    """A tiny SD1-shaped diffusers folder, built once per session."""
    need(torch_available(), "torch and diffusers are needed to build the tiny model")
    from tests.support.tiny_models import save_pipeline

    return save_pipeline(tmp_path_factory.mktemp("models") / "tiny-sd")
