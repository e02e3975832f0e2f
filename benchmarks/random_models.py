"""Random-weight models the benchmarks measure on, built offline from the shipped configs.

Nothing here proves a format is right (the tests do that from independent sources);
these only give the benchmarks real sizes and real architectures to work on.
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "containers" / "sdaws_jobs" / "configs"


def build_sd15_folder(folder: Path) -> None:
    """SD1.5 architecture, random weights, from the shipped (offline) configs."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    sd1 = CONFIGS / "sd1"
    read = lambda part: json.loads((sd1 / part / "config.json").read_text())  # noqa: E731
    pipe = StableDiffusionPipeline(
        unet=UNet2DConditionModel.from_config(read("unet")),
        vae=AutoencoderKL.from_config(read("vae")),
        text_encoder=CLIPTextModel(CLIPTextConfig(**read("text_encoder"))),
        tokenizer=CLIPTokenizer(
            str(CONFIGS / "tokenizer" / "vocab.json"),
            str(CONFIGS / "tokenizer" / "merges.txt"),
            model_max_length=77,
            pad_token="<|endoftext|>",
        ),
        scheduler=DDIMScheduler.from_config(json.loads((sd1 / "scheduler" / "scheduler_config.json").read_text())),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)


def build_tiny_folder(folder: Path) -> None:
    """The first-run demo's tiny SD1 model (random weights), as a diffusers folder."""
    from sdaws_jobs.demo_model import build_pipeline

    build_pipeline().save_pretrained(str(folder), safe_serialization=True)


def build_sd15_checkpoint(path: Path, scratch: Path) -> None:
    """An SD1.5-size single-file checkpoint (fp16, original layout): the folder above, exported."""
    from sdaws_jobs.convert import export_pipeline

    folder = scratch / "sd15-folder"
    build_sd15_folder(folder)
    export_pipeline(folder, path, half=True)
