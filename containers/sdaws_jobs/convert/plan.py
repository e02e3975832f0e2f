"""The conversion plan: for every output tensor, which source tensor and what operation.

Planning reads only names and shapes, so the plan for a 7 GB SDXL file costs
nothing; the writer then executes it one tensor at a time. Source tensors that no
diffusers component keeps (scheduler buffers, SD2's unused last text block, the
CLIP position ids, ...) are listed as `extras` and stored beside the diffusers
folder so that export can give back exactly the file it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConvertError
from .keymap_clip import clip_l_to_diffusers, open_clip_to_diffusers
from .keymap_unet import UNET_PREFIX, UNetNames, layout_from_original
from .keymap_vae import VAE_PREFIX, VaeNames, vae_levels

# arch family -> text encoders: (component, kind, original prefix)
TEXT_ENCODERS = {
    "sd1": [("text_encoder", "clip_l", "cond_stage_model.transformer.")],
    "sd2": [("text_encoder", "open_clip", "cond_stage_model.model.")],
    "sdxl": [
        ("text_encoder", "clip_l", "conditioner.embedders.0.transformer."),
        ("text_encoder_2", "open_clip_proj", "conditioner.embedders.1.model."),
    ],
    "sdxl-refiner": [("text_encoder_2", "open_clip_proj", "conditioner.embedders.0.model.")],
}


def family(arch: str) -> str:
    return "sdxl-refiner" if arch == "sdxl-refiner" else arch.split("-")[0]


@dataclass(frozen=True)
class Move:
    out_key: str
    src_key: str
    op: object = None  # None | "squeeze" | "unsqueeze" | "transpose" | ("rows", a, b)


@dataclass
class Plan:
    components: dict[str, list[Move]] = field(default_factory=dict)
    extras: list[str] = field(default_factory=list)

    @property
    def tensor_count(self) -> int:
        return sum(len(v) for v in self.components.values()) + len(self.extras)


def ema_key(key: str) -> str:
    """EMA copy of a UNet weight as ldm stores it: dots removed after 'model_ema.'."""
    return "model_ema." + key[len("model.") :].replace(".", "")


def make_plan(shapes: dict[str, tuple], arch: str, text_layers: dict[str, int], ema: bool = False) -> Plan:
    plan = Plan(components={"unet": [], "vae": []})
    used: set[str] = set()
    unet = UNetNames(layout_from_original(shapes))
    if ema and not any(k.startswith("model_ema.") for k in shapes):
        raise ConvertError("--ema asked for EMA weights, but this checkpoint has none (no model_ema.* keys)")
    for key in shapes:
        if key.startswith(UNET_PREFIX):
            new = unet.to_diffusers(key)
            if new is None:
                raise ConvertError(f"unexpected UNet weight {key}: this is not a {arch} layout; try another --arch")
            src = ema_key(key) if ema else key
            if src not in shapes:
                raise ConvertError(f"EMA weights are incomplete: {src} is missing; convert without --ema")
            plan.components["unet"].append(Move(new, src))
            used.add(key)
    vae = VaeNames(vae_levels(shapes))
    for key in shapes:
        if key.startswith(VAE_PREFIX):
            hit = vae.to_diffusers(key)
            if hit is None:
                raise ConvertError(f"unexpected VAE weight {key}; the VAE layout is not the Stable Diffusion one")
            plan.components["vae"].append(Move(hit[0], key, "squeeze" if hit[1] else None))
            used.add(key)
    if not plan.components["vae"]:
        raise ConvertError("this checkpoint has no VAE (first_stage_model.*); bake a VAE in or convert a full model")
    for component, kind, prefix in TEXT_ENCODERS[family(arch)]:
        moves = plan.components.setdefault(component, [])
        for key in shapes:
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :]
            if kind == "clip_l":
                new = clip_l_to_diffusers(rest)
                outs = [(new, None)] if new else []
            else:
                width = shapes[prefix + "token_embedding.weight"][1]
                outs = open_clip_to_diffusers(rest, width, text_layers[component], kind == "open_clip_proj")
            for new, op in outs:
                moves.append(Move(new, key, op))
                used.add(key)
        if not moves:
            raise ConvertError(f"no {component} weights under {prefix}*; the file does not match {arch}")
    ema_keys = {m.src_key for m in plan.components["unet"]} if ema else set()
    plan.extras = [k for k in shapes if k not in used and not k.startswith("model_ema.") and k not in ema_keys]
    return plan


def out_shape(shape: tuple, op) -> tuple:
    if op == "squeeze":
        return tuple(shape[:2])
    if op == "unsqueeze":
        return (*shape, 1, 1)
    if op == "transpose":
        return tuple(reversed(shape))
    if isinstance(op, tuple):
        return (op[2] - op[1], *shape[1:])
    return tuple(shape)
