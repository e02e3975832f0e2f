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
LEVELS = (WIDTH, WIDTH * 2, WIDTH * 4, WIDTH * 4)  # SD1's four levels: the UNet's widths, and at this size the VAE's

# SD1's training noise schedule (the shipped sd1 scheduler's values); every sampler of an SD1 model uses it.
SD1_NOISE_SCHEDULE = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000, steps_offset=1
)


def clip_text_config(vocab: int, *, width: int, intermediate: int, layers: int, **extra):
    """A small CLIP text encoder's config. As in CLIP's own vocabulary, the last two tokens are
    start and end of text, and the end token pads."""
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab,
        hidden_size=width,
        intermediate_size=intermediate,
        num_hidden_layers=layers,
        num_attention_heads=2,
        max_position_embeddings=77,
        projection_dim=width,
        bos_token_id=vocab - 2,
        eos_token_id=vocab - 1,
        pad_token_id=vocab - 1,
        **extra,
    )


def sd1_pipeline(vae, text_encoder, tokenizer, unet, scheduler):
    """An SD1 pipeline of these parts with no safety checker: random-weight models draw noise."""
    from diffusers import StableDiffusionPipeline

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


def build_pipeline(seed: int = 0):
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from .convert.configs import configs_root, shipped

    torch.manual_seed(seed)
    # The published SD1 structure from the shipped configs; only the widths shrink.
    unet = UNet2DConditionModel.from_config(
        dict(shipped("sd1", "unet"), block_out_channels=LEVELS, cross_attention_dim=WIDTH, sample_size=8)
    )
    vae = AutoencoderKL.from_config(dict(shipped("sd1", "vae"), block_out_channels=LEVELS, sample_size=64))
    text_encoder = CLIPTextModel(
        clip_text_config(CLIP_VOCAB, width=WIDTH, intermediate=WIDTH * 4, layers=2, hidden_act="quick_gelu")
    )
    scheduler = PNDMScheduler(**SD1_NOISE_SCHEDULE, skip_prk_steps=True)
    tokenizer_files = configs_root() / "tokenizer"
    tokenizer = CLIPTokenizer(
        str(tokenizer_files / "vocab.json"),
        str(tokenizer_files / "merges.txt"),
        pad_token="<|endoftext|>",
        model_max_length=77,
    )
    return sd1_pipeline(vae, text_encoder, tokenizer, unet, scheduler)


def write_demo_checkpoint(path: Path, seed: int = 0) -> Path:
    """Write the tiny model as one original-layout .safetensors file (fp16), atomically."""
    from .convert import export_pipeline

    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="sdaws-demo-") as scratch:
        folder = Path(scratch) / "pipeline"
        build_pipeline(seed).save_pretrained(str(folder), safe_serialization=True)
        export_pipeline(folder, path, half=True)
    return path
