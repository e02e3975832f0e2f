"""Architecture names, and which one a single-file checkpoint holds, from keys and shapes.

This replaces the "pick the correct YAML" step users had to get right by hand. The
file tells SD1 from SD2 from SDXL and inpainting from plain, but it cannot tell
SD2 512-epsilon from SD2 768-v-prediction: there we take the common SD2.1-768 choice
(or what the file name says) and say so in `defaults_taken`, with the override.

Only tensor names and shapes are read, so the API detects from a safetensors header
alone and the conversion engine from an open checkpoint, by the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from .errors import InvalidInput

ARCHS = ("sd1", "sd1-inpaint", "sd2-512", "sd2-768", "sd2-inpaint", "sdxl", "sdxl-refiner")
PREDICTION_TYPES = ("epsilon", "v_prediction")
# arch -> (prediction type, image size, upcast attention) as the original YAMLs had them
ARCH_DEFAULTS = {
    "sd1": ("epsilon", 512, False),
    "sd1-inpaint": ("epsilon", 512, False),
    "sd2-512": ("epsilon", 512, False),
    "sd2-768": ("v_prediction", 768, True),
    "sd2-inpaint": ("epsilon", 512, False),
    "sdxl": ("epsilon", 1024, False),
    "sdxl-refiner": ("epsilon", 1024, False),
}
UNET_IN = "model.diffusion_model.input_blocks.0.0.weight"


class UnknownArchitectureError(InvalidInput):
    """The keys and shapes match no supported Stable Diffusion architecture."""


@dataclass
class Detection:
    arch: str
    prediction_type: str
    image_size: int
    upcast_attention: bool
    reasons: list[str] = field(default_factory=list)
    defaults_taken: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _family(keys: set[str]) -> tuple[str, str]:
    if any(k.startswith("conditioner.embedders.1.model.") for k in keys):
        return "sdxl", "conditioner.embedders.1 is an OpenCLIP text encoder beside a CLIP-L one (SDXL base)"
    if any(k.startswith("conditioner.embedders.0.model.") for k in keys):
        return "sdxl-refiner", "conditioner.embedders.0 is an OpenCLIP text encoder alone (SDXL refiner)"
    if any(k.startswith("cond_stage_model.model.") for k in keys):
        return "sd2", "text encoder is OpenCLIP (cond_stage_model.model.*), as in SD2.x"
    if any(k.startswith("cond_stage_model.transformer.") for k in keys):
        return "sd1", "text encoder is OpenAI CLIP (cond_stage_model.transformer.*), as in SD1.x"
    if any(k.startswith(("lora_unet_", "lora_te")) or ".lora_down." in k or "lora_A" in k for k in keys):
        raise UnknownArchitectureError(
            "this file is a LoRA, not a full checkpoint: put it in Lora/ instead of converting it"
        )
    if UNET_IN in keys:
        raise UnknownArchitectureError(
            "this checkpoint has a UNet but no text encoder we know; pass --arch to say which family it is"
        )
    raise UnknownArchitectureError(
        "no Stable Diffusion UNet found (no model.diffusion_model.* keys): is this a VAE, embedding or other model?"
    )


def detect_architecture(shapes: Mapping[str, object], name: str = "", arch: str | None = None) -> Detection:
    """The architecture of a checkpoint with these tensor shapes; `name` is its file name (a hint
    for SD2), `arch` the caller's choice, which is checked and wins."""
    shape_of = {k: tuple(v) if isinstance(v, (list, tuple)) else () for k, v in shapes.items()}
    keys = set(shape_of)
    reasons: list[str] = []
    defaults: list[str] = []
    if UNET_IN not in keys and not arch:
        _family(keys)  # raises with the best explanation
        raise UnknownArchitectureError("no UNet (model.diffusion_model.*) in this file; it cannot be converted")
    if arch:
        if arch not in ARCHS:
            raise UnknownArchitectureError(f"unknown --arch {arch!r}; choose one of {', '.join(ARCHS)}")
        reasons.append(f"architecture {arch} given by the caller")
        found = arch
    else:
        family, why = _family(keys)
        reasons.append(why)
        in_ch = shape_of[UNET_IN][1] if len(shape_of.get(UNET_IN, ())) == 4 else 4
        inpaint = in_ch == 9
        if inpaint:
            reasons.append("UNet takes 9 input channels (latent + mask + masked image): inpainting")
        if family == "sd1":
            found = "sd1-inpaint" if inpaint else "sd1"
        elif family == "sd2":
            if inpaint:
                found = "sd2-inpaint"
            else:
                found = _sd2_kind(name, reasons, defaults)
        else:
            found = family
    pred, size, upcast = ARCH_DEFAULTS[found]
    if "v_pred" in keys and pred != "v_prediction":
        pred = "v_prediction"
        reasons.append("the file carries a v_pred marker key: v-prediction")
    return Detection(found, pred, size, upcast, reasons, defaults)


def _sd2_kind(name: str, reasons: list[str], defaults: list[str]) -> str:
    lowered = name.lower()
    if re.search(r"(?<!\d)768(?!\d)|v[-_]?pred", lowered):
        reasons.append(f"file name {name!r} says 768 / v-prediction")
        return "sd2-768"
    if re.search(r"(?<!\d)512(?!\d)|base", lowered):
        reasons.append(f"file name {name!r} says 512 / base (epsilon)")
        return "sd2-512"
    defaults.append(
        "SD2 weights do not say whether they are 768 v-prediction or 512 epsilon; took SD2.x-768 "
        "v-prediction (the common SD2.1). For a 512 base model pass --arch sd2-512 "
        "(or --prediction-type epsilon --image-size 512)."
    )
    return "sd2-768"
