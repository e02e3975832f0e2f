"""Checkpoints in the original layouts (built once per session) and their conversions."""

from __future__ import annotations

import os

import pytest

from tests.support.env import need, torch_available

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # conversion must never need the hub


def _need_parts():
    need(torch_available(), "torch and diffusers are needed for conversion tests")
    from tests.support.sd_mecha import sd_mecha_configs

    need(sd_mecha_configs() is not None, "sd-mecha's published key lists (run .ci/convert_test_data.sh)")


@pytest.fixture
def torch_needed():
    """Conversion tests run real torch/safetensors code."""
    need(torch_available(), "torch and diffusers are needed for conversion tests")


@pytest.fixture
def layouts_available():
    """For tests that build layouts directly: skip (or fail in CI) without the data."""
    _need_parts()


@pytest.fixture(scope="session")
def checkpoint_file(tmp_path_factory):
    """arch -> path of a tiny original-layout .safetensors for it (built on first use)."""
    _need_parts()
    from safetensors.torch import save_file

    from tests.support.checkpoint_layouts import BUILDERS

    root = tmp_path_factory.mktemp("checkpoints")
    made = {}

    def get(arch: str):
        if arch not in made:
            # A neutral file name: detection may read hints such as "768" from names.
            path = root / arch / "model.safetensors"
            path.parent.mkdir()
            if arch == "sdxl-refiner":
                from tests.support.refiner import build_refiner

                build_refiner(path.parent / "made", path)
            else:
                save_file(BUILDERS[arch](), str(path))
            made[arch] = path
        return made[arch]

    return get


@pytest.fixture(scope="session")
def converted(tmp_path_factory, checkpoint_file):
    """arch -> diffusers folder converted by sdaws from checkpoint_file(arch)."""
    from sdaws_jobs.convert import convert_checkpoint

    root = tmp_path_factory.mktemp("converted")
    made = {}

    def get(arch: str):
        if arch not in made:
            out = root / arch
            # sd2-512 cannot be told from sd2-768 by its weights: say it, as users would.
            convert_checkpoint(checkpoint_file(arch), out, arch="sd2-512" if arch == "sd2-512" else None)
            made[arch] = out
        return made[arch]

    return get
