"""Original text-encoder names <-> transformers CLIPTextModel(WithProjection) names.

Two original layouts exist: OpenAI CLIP as wrapped by ldm (`...transformer.text_model.*`,
already transformers' names under a prefix) and OpenCLIP (`...model.transformer.resblocks.N.*`)
whose attention keeps q, k and v stacked in one `in_proj` tensor (rows q|k|v) and whose
`text_projection` is stored transposed relative to a Linear weight.
"""

from __future__ import annotations

import re

CLIP_L_PREFIXES = ("cond_stage_model.transformer.", "conditioner.embedders.0.transformer.")
OPEN_CLIP_PREFIXES = ("cond_stage_model.model.", "conditioner.embedders.1.model.", "conditioner.embedders.0.model.")

_TOP = (  # OpenCLIP name -> transformers name
    ("positional_embedding", "text_model.embeddings.position_embedding.weight"),
    ("token_embedding.weight", "text_model.embeddings.token_embedding.weight"),
    ("ln_final.weight", "text_model.final_layer_norm.weight"),
    ("ln_final.bias", "text_model.final_layer_norm.bias"),
)
_LAYER = (
    ("ln_1.", "layer_norm1."),
    ("ln_2.", "layer_norm2."),
    ("mlp.c_fc.", "mlp.fc1."),
    ("mlp.c_proj.", "mlp.fc2."),
    ("attn.out_proj.", "self_attn.out_proj."),
)
_BLOCK = re.compile(r"transformer\.resblocks\.(\d+)\.(.*)$")
_LAYER_T = re.compile(r"text_model\.encoder\.layers\.(\d+)\.(.*)$")


def clip_l_to_diffusers(rest: str) -> str | None:
    """`rest` is the key without its prefix; None for keys transformers does not keep."""
    if rest.endswith("position_ids"):
        return None  # a non-persistent buffer in transformers, kept aside for export
    return rest if rest.startswith("text_model.") else "text_model." + rest


def open_clip_to_diffusers(rest: str, width: int, layers: int, with_projection: bool):
    """[(diffusers key, op)] for an OpenCLIP key; op is None, ('rows', a, b) or 'transpose'."""
    for old, new in _TOP:
        if rest == old:
            return [(new, None)]
    if rest == "text_projection":
        return [("text_projection.weight", "transpose")] if with_projection else []
    m = _BLOCK.match(rest)
    if not m or int(m.group(1)) >= layers:
        return []  # logit_scale, and the last block SD2 does not use
    base, tail = f"text_model.encoder.layers.{m.group(1)}.", m.group(2)
    if tail.startswith("attn.in_proj_"):
        kind = tail.rsplit("_", 1)[1]  # weight | bias
        return [(f"{base}self_attn.{p}_proj.{kind}", ("rows", i * width, (i + 1) * width)) for i, p in enumerate("qkv")]
    for old, new in _LAYER:
        if tail.startswith(old):
            return [(base + new + tail[len(old) :], None)]
    return []


def open_clip_to_original(key: str):
    """For a transformers key: (OpenCLIP name, op) where op None, 'transpose' or ('qkv', index)."""
    for old, new in _TOP:
        if key == new:
            return old, None
    if key == "text_projection.weight":
        return "text_projection", "transpose"
    m = _LAYER_T.match(key)
    if not m:
        return None
    base, tail = f"transformer.resblocks.{m.group(1)}.", m.group(2)
    qkv = re.match(r"self_attn\.([qkv])_proj\.(weight|bias)$", tail)
    if qkv:
        return f"{base}attn.in_proj_{qkv.group(2)}", ("qkv", "qkv".index(qkv.group(1)))
    for old, new in _LAYER:
        if tail.startswith(new):
            return base + old + tail[len(new) :], None
    return None
