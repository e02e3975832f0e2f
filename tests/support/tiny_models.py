"""Tiny random-weight Stable Diffusion 1.x pipelines, built from diffusers' own classes.

Small enough that a CPU job runs in seconds, shaped like SD1 (UNet with cross
attention, KL VAE with 4 latent channels, CLIP text encoder + BPE tokenizer) so every
code path of the real thing runs. The tokenizer's vocabulary is the 256 byte symbols
(plain and with `</w>`) plus CLIP's two special tokens and no merges.
"""

from __future__ import annotations

import json
from pathlib import Path

SIZE = 32  # pixels; the VAE halves it once


def quick_txt2img(model: str, prompt: str, **fields) -> dict:
    """txt2img params that these tiny models draw on a CPU in a moment: two steps at their
    native SIZE x SIZE, unless `fields` say otherwise."""
    return {"prompt": prompt, "model": model, "steps": 2, "width": SIZE, "height": SIZE, **fields}


def _byte_symbols() -> list[str]:
    # GPT-2/CLIP byte-to-unicode table: printable bytes map to themselves, others shift up.
    keep = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars, n = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return [chr(c) for c in chars]


def write_tokenizer(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    symbols = _byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols] + ["<|startoftext|>", "<|endoftext|>"]
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return len(tokens)


def build_pipeline(seed: int = 0, vae_levels: int = 2, unet_in_channels: int = 4):
    """`vae_levels` 4 gives SD's 8x latent factor, which ControlNet's hint encoder assumes;
    `unet_in_channels` 9 makes an inpainting model (latents, mask, masked-image latents)."""
    import tempfile

    import torch
    from diffusers import AutoencoderKL, EulerAncestralDiscreteScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from sdaws_jobs.demo_model import SD1_NOISE_SCHEDULE, clip_text_config, sd1_pipeline

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=SIZE // 2,
        in_channels=unet_in_channels,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=(16, 32),
        norm_num_groups=8,
        cross_attention_dim=16,
        attention_head_dim=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=8,
        block_out_channels=(8, 16, 16, 16)[:vae_levels],
        sample_size=SIZE,
        down_block_types=("DownEncoderBlock2D",) * vae_levels,
        up_block_types=("UpDecoderBlock2D",) * vae_levels,
    )
    with tempfile.TemporaryDirectory() as tok_dir:
        vocab = write_tokenizer(Path(tok_dir))
        tokenizer = CLIPTokenizer(
            str(Path(tok_dir) / "vocab.json"), str(Path(tok_dir) / "merges.txt"), model_max_length=77
        )
    text_encoder = CLIPTextModel(clip_text_config(vocab, width=16, intermediate=32, layers=2))
    return sd1_pipeline(vae, text_encoder, tokenizer, unet, EulerAncestralDiscreteScheduler(**SD1_NOISE_SCHEDULE))


def save_pipeline(folder: Path, seed: int = 0, vae_levels: int = 2, unet_in_channels: int = 4) -> Path:
    build_pipeline(seed, vae_levels, unet_in_channels).save_pretrained(str(folder), safe_serialization=True)
    return folder
