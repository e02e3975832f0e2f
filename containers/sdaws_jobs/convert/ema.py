"""Choosing EMA or training weights of the UNet in an in-memory state dict."""

from __future__ import annotations

from .errors import ConvertError
from .keymap_unet import UNET_PREFIX
from .plan import ema_key


def apply_ema(sd: dict, ema: bool, source: str = "checkpoint") -> dict:
    """Without ema: drop model_ema.*; with ema: put EMA values under the normal UNet names."""
    if not ema:
        return {k: v for k, v in sd.items() if not k.startswith("model_ema.")}
    if not any(k.startswith("model_ema.") for k in sd):
        raise ConvertError(f"{source} has no EMA weights (no model_ema.* keys); load it without ema")
    out = {}
    for k, v in sd.items():
        if k.startswith("model_ema."):
            continue
        if k.startswith(UNET_PREFIX):
            e = ema_key(k)
            if e not in sd:
                raise ConvertError(f"{source}: EMA weights are incomplete ({e} is missing)")
            v = sd[e]
        out[k] = v
    return out
