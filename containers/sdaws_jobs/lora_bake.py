"""Baking kohya LoRAs into a single-file checkpoint: W' = W + weight · (alpha / rank) · up @ down.

Kohya names each module by its path with dots as underscores: `lora_unet_<path>` where
the path is the diffusers UNet's for SD1/SD2 and the original sgm one for SDXL (both are
tried), `lora_te_<path>` / `lora_te1_<path>` for the CLIP-L text encoder under
`cond_stage_model.transformer.` (SD1) or `conditioner.embedders.0.transformer.` (SDXL).
1x1 and 3x3 (LoCon) convolutions are handled; OpenCLIP text encoders (SD2, SDXL's second)
keep fused attention weights that kohya's split q/k/v LoRAs cannot be added to, so
LoRA modules aimed there are reported, not baked.
"""

from __future__ import annotations

from pathlib import Path

from .convert.keymap_unet import UNET_PREFIX, UNetNames, layout_from_original
from .errors import SpecError

_TEXT_ENCODERS = (
    ("cond_stage_model.transformer.", "lora_te_"),
    ("conditioner.embedders.0.transformer.", "lora_te1_"),
)


def kohya_names(keys) -> dict[str, str]:
    """kohya module name -> checkpoint key of the weight it patches."""
    keys = list(keys)
    names: dict[str, str] = {}
    unet = [k for k in keys if k.startswith(UNET_PREFIX)]
    table = UNetNames(layout_from_original(unet)) if unet else None
    for key in keys:
        if not key.endswith(".weight"):
            continue
        if key.startswith(UNET_PREFIX):
            names["lora_unet_" + key[len(UNET_PREFIX) : -len(".weight")].replace(".", "_")] = key  # SDXL
            diffusers = table.to_diffusers(key) if table else None
            if diffusers:
                names["lora_unet_" + diffusers[: -len(".weight")].replace(".", "_")] = key  # SD1/SD2
            continue
        for prefix, kohya in _TEXT_ENCODERS:
            if key.startswith(prefix):
                names[kohya + key[len(prefix) : -len(".weight")].replace(".", "_")] = key
    return names


def _delta(down, up, alpha, shape):
    import torch

    rank = down.shape[0]
    scale = float(alpha) / rank if alpha is not None else 1.0
    if down.dim() == 4 and down.shape[2:] != (1, 1):  # LoCon 3x3: up (out, r, 1, 1), down (r, in, k, k)
        delta = (up.flatten(1) @ down.flatten(1)).reshape(up.shape[0], *down.shape[1:])
    else:
        delta = up.flatten(1) @ down.flatten(1)
    return (delta * scale).reshape(shape).to(torch.float32)


def lora_deltas(path: Path, weight: float, shapes: dict[str, tuple[int, ...]]) -> tuple[dict, list[str]]:
    """{checkpoint key: fp32 delta} of one LoRA at `weight`, and the modules that found no tensor."""
    from safetensors import safe_open

    if path.suffix.lower() != ".safetensors":
        raise SpecError(f"LoRA {path.name!r}: only .safetensors LoRAs are baked (pickles could run code)")
    names = kohya_names(shapes)
    deltas: dict = {}
    missed: list[str] = []
    with safe_open(str(path), "pt") as lora:
        keys = set(lora.keys())
        modules = sorted(k[: -len(".lora_down.weight")] for k in keys if k.endswith(".lora_down.weight"))
        if not modules:
            raise SpecError(
                f"LoRA {path.name!r} is not in kohya format (no *.lora_down.weight); the WebUI's Lora/ holds kohya files"
            )
        for module in modules:
            target = names.get(module)
            if target is None:
                missed.append(module)
                continue
            down = lora.get_tensor(f"{module}.lora_down.weight").float()
            up = lora.get_tensor(f"{module}.lora_up.weight").float()
            alpha = lora.get_tensor(f"{module}.alpha").item() if f"{module}.alpha" in keys else None
            delta = _delta(down, up, alpha, shapes[target]) * weight
            deltas[target] = deltas[target] + delta if target in deltas else delta
    return deltas, missed
