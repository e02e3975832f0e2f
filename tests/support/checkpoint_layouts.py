"""Tiny checkpoints in the real original single-file layouts.

Key names and full-size shapes come from an independent published description: the
model-config YAMLs that the PyPI package sd-mecha ships for SD1 ("sd1-ldm") and SDXL
("sdxl-sgm"). Every dimension is shrunk through one value map per component (e.g.
320->32, 640->64, 1280->128 in the UNet), so every edge of the network stays
consistent while the model becomes small enough for CPU tests. Layer counts are kept
as published. SD2 has no published list there; it is the SD1 UNet list with SD2's
documented differences (linear proj_in/proj_out, 1024-wide context) plus the OpenCLIP
text tower as the SDXL list publishes it (`model.transformer.resblocks.N`, 24 blocks
as in SD2's ViT-H).
"""

from __future__ import annotations

from functools import cache

import torch

from tests.support.sd_mecha import published_keys

SKIP_OPTIONAL = ("model_ema.", "edm_vpred.", "v_pred", "ztsnr")
DTYPES = {"float32": torch.float32, "int64": torch.int64, "int32": torch.int32, "float16": torch.float16}

UNET_MAP = {320: 32, 640: 64, 1280: 128, 2560: 256, 1920: 192, 960: 96, 5120: 512, 10240: 1024}
VAE_MAP = {128: 32, 256: 64, 512: 128}
CLIP_L_MAP = {768: 32, 3072: 128}
OPEN_CLIP_MAP = {1280: 64, 3840: 192, 5120: 256}


@cache
def published(name: str) -> dict[str, tuple[tuple[int, ...], str]]:
    """{key: (full-size shape, dtype)} from sd-mecha's YAML (read as data, never imported)."""
    return {
        key: (tuple(spec["shape"]), spec.get("dtype", "float32"))
        for key, spec in published_keys(name).items()
        if not key.startswith(SKIP_OPTIONAL)
    }


def _shrink(shape, vmap):
    return tuple(vmap.get(d, d) for d in shape)


def _value(key: str, shape, dtype, gen) -> torch.Tensor:
    if dtype.startswith("int"):
        return torch.arange(shape[-1] if shape else 1, dtype=DTYPES[dtype]).reshape(shape) if shape else torch.tensor(0)
    t = torch.randn(shape, generator=gen) * 0.05
    if key.endswith(
        (
            "norm.weight",
            "norm1.weight",
            "norm2.weight",
            "norm3.weight",
            "ln_1.weight",
            "ln_2.weight",
            "ln_final.weight",
            "layer_norm1.weight",
            "layer_norm2.weight",
            "final_layer_norm.weight",
            "in_layers.0.weight",
            "out_layers.0.weight",
            "norm_out.weight",
            "out.0.weight",
        )
    ):
        t = 1.0 + t
    return t.to(DTYPES[dtype])


def _build(entries: dict, maps: list[tuple[str, dict]], seed: int, dtype: torch.dtype | None):
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for key, (shape, kind) in sorted(entries.items()):
        vmap = next((m for p, m in maps if key.startswith(p)), {})
        t = _value(key, _shrink(shape, vmap), kind, gen)
        if dtype is not None and t.is_floating_point() and t.dim() > 0:
            t = t.to(dtype)
        sd[key] = t
    return sd


def sd1(seed=0, inpaint=False, dtype=None) -> dict[str, torch.Tensor]:
    entries = dict(published("sd1-ldm"))
    if inpaint:
        shape, kind = entries["model.diffusion_model.input_blocks.0.0.weight"]
        entries["model.diffusion_model.input_blocks.0.0.weight"] = ((shape[0], 9, *shape[2:]), kind)
    maps = [("model.", {**UNET_MAP, 768: 32}), ("first_stage_model.", VAE_MAP), ("cond_stage_model.", CLIP_L_MAP)]
    return _build(entries, maps, seed, dtype)


def sd2(seed=0, inpaint=False, dtype=None) -> dict[str, torch.Tensor]:
    entries = {}
    for key, (shape, kind) in published("sd1-ldm").items():
        if key.startswith("cond_stage_model."):
            continue
        if key.endswith(("proj_in.weight", "proj_out.weight")) and key.startswith("model."):
            shape = shape[:2]  # SD2: use_linear_in_transformer
        if key.endswith("attn2.to_k.weight") or key.endswith("attn2.to_v.weight"):
            shape = (shape[0], 1024)
        entries[key] = (shape, kind)
    if inpaint:
        shape, kind = entries["model.diffusion_model.input_blocks.0.0.weight"]
        entries["model.diffusion_model.input_blocks.0.0.weight"] = ((shape[0], 9, *shape[2:]), kind)
    for key, spec in published("sdxl-sgm").items():
        head = "conditioner.embedders.1.model."
        if not key.startswith(head):
            continue
        rest = key[len(head) :]
        if rest.startswith("transformer.resblocks.") and int(rest.split(".")[2]) >= 24:
            continue
        entries["cond_stage_model.model." + rest] = spec
    maps = [("model.", {**UNET_MAP, 1024: 64}), ("first_stage_model.", VAE_MAP), ("cond_stage_model.", OPEN_CLIP_MAP)]
    return _build(entries, maps, seed, dtype)


def sdxl(seed=0, dtype=None) -> dict[str, torch.Tensor]:
    # label_emb input = pooled text width (1280 -> 64) + 6 * 256 time ids
    maps = [
        ("model.", {**UNET_MAP, 2048: 32 + 64, 2816: 64 + 6 * 256}),
        ("first_stage_model.", VAE_MAP),
        ("conditioner.embedders.0.", CLIP_L_MAP),
        ("conditioner.embedders.1.", OPEN_CLIP_MAP),
    ]
    return _build(dict(published("sdxl-sgm")), maps, seed, dtype)


BUILDERS = {
    "sd1": lambda: sd1(),
    "sd1-inpaint": lambda: sd1(seed=1, inpaint=True),
    "sd2-768": lambda: sd2(),
    "sd2-512": lambda: sd2(seed=2),
    "sd2-inpaint": lambda: sd2(seed=3, inpaint=True),
    "sdxl": lambda: sdxl(),
}
