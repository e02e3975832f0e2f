"""A local server with tiny real models for the job-flow tests (built once per module)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.support.env import need, torch_available

TOKEN = "tui-jobs-token-0123456789abcdef"


def tiny_checkpoint(path: Path, seed: int) -> Path:
    """An SD1-layout single file (published key list, shrunk): merge and convert inputs."""
    from safetensors.torch import save_file

    from tests.support.checkpoint_layouts import sd1
    from tests.support.sd_mecha import sd_mecha_configs

    need(sd_mecha_configs() is not None, "sd-mecha's published SD1 key list is needed for the checkpoint fixture")
    save_file(sd1(seed=seed), str(path))
    return path


def build_models(root: Path, pipeline_cache: Path) -> Path:
    need(torch_available(), "torch and diffusers run the jobs")
    from tests.support.tiny_models import save_pipeline

    if not (pipeline_cache / "model_index.json").exists():
        save_pipeline(pipeline_cache)
    shutil.copytree(pipeline_cache, root / "diffusers" / "tiny-sd")
    sd = root / "Stable-diffusion"
    sd.mkdir(parents=True)
    tiny_checkpoint(sd / "alpha.safetensors", seed=1)
    tiny_checkpoint(sd / "beta.safetensors", seed=2)
    return root
