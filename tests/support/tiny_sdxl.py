"""Tiny random-weight SDXL base and refiner pipelines, shrunk from the shipped diffusers configs.

Structure as published (three UNet levels, attention on the lower two, text_time added
conditioning, two text encoders whose penultimate states are concatenated, the second
with a projection; the refiner with one encoder and aesthetic-score conditioning), every
width scaled down so a CPU runs them in seconds. SD's 8x latent factor is kept.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

TE1, TE2 = 32, 64  # text encoder widths; their sum is the base UNet's cross-attention width
TIME_DIM = 8  # addition_time_embed_dim, shrunk from 256


def _tokenizer(folder: Path):
    from transformers import CLIPTokenizer

    from tests.support.tiny_models import write_tokenizer

    write_tokenizer(folder)
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def _encoder(width: int, vocab: int, projection: bool, seed: int):
    import torch
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    from sdaws_jobs.demo_model import clip_text_config

    torch.manual_seed(seed)
    config = clip_text_config(vocab, width=width, intermediate=width * 2, layers=3)
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config)


def _vae(seed: int):
    import torch
    from diffusers import AutoencoderKL

    from sdaws_jobs.convert.configs import shipped

    torch.manual_seed(seed)
    return AutoencoderKL.from_config(
        dict(shipped("sdxl", "vae"), block_out_channels=[8, 16, 16, 16], norm_num_groups=8)
    )


def _unet(variant: str, cross: int, pooled: int, seed: int):
    import torch
    from diffusers import UNet2DConditionModel

    from sdaws_jobs.convert.configs import shipped

    torch.manual_seed(seed)
    config = dict(
        shipped(variant, "unet"),
        block_out_channels=[16, 32, 32] if variant == "sdxl" else [16, 32, 32, 32],
        attention_head_dim=[1, 2, 2] if variant == "sdxl" else [1, 2, 2, 2],
        norm_num_groups=8,
        cross_attention_dim=cross,
        transformer_layers_per_block=1,
        addition_time_embed_dim=TIME_DIM,
        projection_class_embeddings_input_dim=TIME_DIM * (6 if variant == "sdxl" else 5) + pooled,
        sample_size=8,
    )
    return UNet2DConditionModel.from_config(config)


def build_sdxl(seed: int = 0):
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline

    from sdaws_jobs.convert.configs import configs_root

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = _tokenizer(Path(tmp) / "t1")
        tokenizer_2 = _tokenizer(Path(tmp) / "t2")
    vocab = len(tokenizer)
    return StableDiffusionXLPipeline(
        vae=_vae(seed),
        text_encoder=_encoder(TE1, vocab, False, seed + 1),
        text_encoder_2=_encoder(TE2, vocab, True, seed + 2),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer_2,
        unet=_unet("sdxl", TE1 + TE2, TE2, seed + 3),
        scheduler=EulerDiscreteScheduler.from_pretrained(str(configs_root() / "sdxl"), subfolder="scheduler"),
    )


def build_refiner(seed: int = 10):
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLImg2ImgPipeline

    from sdaws_jobs.convert.configs import configs_root

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_2 = _tokenizer(Path(tmp) / "t2")
    return StableDiffusionXLImg2ImgPipeline(
        vae=_vae(seed),
        text_encoder=None,
        text_encoder_2=_encoder(TE2, len(tokenizer_2), True, seed + 2),
        tokenizer=None,
        tokenizer_2=tokenizer_2,
        unet=_unet("sdxl-refiner", TE2, TE2, seed + 3),
        scheduler=EulerDiscreteScheduler.from_pretrained(str(configs_root() / "sdxl-refiner"), subfolder="scheduler"),
        requires_aesthetics_score=True,
        force_zeros_for_empty_prompt=False,
    )


def save(pipe, folder: Path) -> Path:
    pipe.save_pretrained(str(folder), safe_serialization=True)
    return folder
