"""A tiny random-weight SD1 checkpoint that every sdaws flow accepts, built offline.

It has the published SD1 structure (four UNet levels, two layers each, cross
attention, KL VAE with four latent channels, a CLIP text model with CLIP's full
49,408-token vocabulary so the shipped tokenizer fits) at a tiny width, so browsing,
uploading, converting, txt2img, img2img, LoRA training and merging all run on a CPU in
seconds. The weights are random: images are noise, by design.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

CLIP_VOCAB = 49408
WIDTH = 32  # SD1's 320, scaled down; every other width follows SD1's ratios


def build_pipeline(seed: int = 0):
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from .convert.configs import configs_root

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        layers_per_block=2,
        block_out_channels=(WIDTH, WIDTH * 2, WIDTH * 4, WIDTH * 4),
        cross_attention_dim=WIDTH,
        attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=2,
        block_out_channels=(WIDTH, WIDTH * 2, WIDTH * 4, WIDTH * 4),
        sample_size=64,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=CLIP_VOCAB,
            hidden_size=WIDTH,
            intermediate_size=WIDTH * 4,
            num_hidden_layers=2,
            num_attention_heads=2,
            max_position_embeddings=77,
            projection_dim=WIDTH,
            bos_token_id=49406,
            eos_token_id=49407,
            pad_token_id=49407,
            hidden_act="quick_gelu",
        )
    )
    scheduler = PNDMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
        skip_prk_steps=True,
    )
    shipped = configs_root() / "tokenizer"
    tokenizer = CLIPTokenizer(
        str(shipped / "vocab.json"), str(shipped / "merges.txt"), pad_token="<|endoftext|>", model_max_length=77
    )
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def write_demo_checkpoint(path: Path, seed: int = 0) -> Path:
    """Write the tiny model as one original-layout .safetensors file (fp16), atomically."""
    from .convert import export_pipeline

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="sdaws-demo-") as scratch:
        folder = Path(scratch) / "pipeline"
        build_pipeline(seed).save_pretrained(str(folder), safe_serialization=True)
        export_pipeline(folder, path, half=True)
    return path
