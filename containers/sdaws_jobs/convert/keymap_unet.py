"""Original (ldm/sgm) UNet names <-> diffusers UNet2DConditionModel names.

Both layouts are a pure renaming once the block structure is known (number of
levels, resnets per level, which levels have attention): `unet_prefix_pairs`
lists every (original prefix, diffusers prefix, kind) pair for that structure, so
the forward and the inverse mapping come from the same table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNET_PREFIX = "model.diffusion_model."

_RESNET = (  # original suffix -> diffusers suffix inside a ResBlock
    ("in_layers.0.", "norm1."),
    ("in_layers.2.", "conv1."),
    ("emb_layers.1.", "time_emb_proj."),
    ("out_layers.0.", "norm2."),
    ("out_layers.3.", "conv2."),
    ("skip_connection.", "conv_shortcut."),
)


@dataclass(frozen=True)
class UNetLayout:
    levels: int
    layers: int  # resnets per down level (up levels have one more)
    attention: tuple[bool, ...]  # per down level


def layout_from_original(keys) -> UNetLayout:
    inputs = {int(m.group(1)) for k in keys if (m := re.match(r"model\.diffusion_model\.input_blocks\.(\d+)\.", k))}
    downs = {
        int(m.group(1)) for k in keys if (m := re.match(r"model\.diffusion_model\.input_blocks\.(\d+)\.0\.op\.", k))
    }
    levels = len(downs) + 1
    count = max(inputs) + 1
    layers = (count - levels) // levels
    attention = tuple(
        any(k.startswith(f"{UNET_PREFIX}input_blocks.{1 + b * (layers + 1)}.1.") for k in keys) for b in range(levels)
    )
    return UNetLayout(levels, layers, attention)


def layout_from_config(config: dict) -> UNetLayout:
    types = config["down_block_types"]
    return UNetLayout(len(types), int(config["layers_per_block"]), tuple("CrossAttn" in t for t in types))


def unet_prefix_pairs(lay: UNetLayout) -> list[tuple[str, str, str]]:
    pairs = [
        ("time_embed.0", "time_embedding.linear_1", "plain"),
        ("time_embed.2", "time_embedding.linear_2", "plain"),
        ("label_emb.0.0", "add_embedding.linear_1", "plain"),
        ("label_emb.0.2", "add_embedding.linear_2", "plain"),
        ("input_blocks.0.0", "conv_in", "plain"),
        ("out.0", "conv_norm_out", "plain"),
        ("out.2", "conv_out", "plain"),
        ("middle_block.0", "mid_block.resnets.0", "resnet"),
        ("middle_block.1", "mid_block.attentions.0", "plain"),
        ("middle_block.2", "mid_block.resnets.1", "resnet"),
    ]
    step = lay.layers + 1
    for b in range(lay.levels):
        for j in range(lay.layers):
            i = 1 + b * step + j
            pairs.append((f"input_blocks.{i}.0", f"down_blocks.{b}.resnets.{j}", "resnet"))
            if lay.attention[b]:
                pairs.append((f"input_blocks.{i}.1", f"down_blocks.{b}.attentions.{j}", "plain"))
        if b < lay.levels - 1:
            pairs.append(
                (f"input_blocks.{1 + b * step + lay.layers}.0.op", f"down_blocks.{b}.downsamplers.0.conv", "plain")
            )
    for u in range(lay.levels):
        attn = lay.attention[lay.levels - 1 - u]
        for j in range(step):
            i = u * step + j
            pairs.append((f"output_blocks.{i}.0", f"up_blocks.{u}.resnets.{j}", "resnet"))
            if attn:
                pairs.append((f"output_blocks.{i}.1", f"up_blocks.{u}.attentions.{j}", "plain"))
            if u < lay.levels - 1 and j == lay.layers:
                pairs.append(
                    (f"output_blocks.{i}.{2 if attn else 1}.conv", f"up_blocks.{u}.upsamplers.0.conv", "plain")
                )
    return pairs


def _rename_suffix(suffix: str, kind: str, forward: bool) -> str:
    if kind == "resnet":
        for old, new in _RESNET:
            a, b = (old, new) if forward else (new, old)
            if suffix.startswith(a):
                return b + suffix[len(a) :]
    return suffix


def _lookup(key: str, table: dict[str, tuple[str, str]]) -> tuple[str, str, str] | None:
    parts = key.split(".")
    for n in range(len(parts) - 1, 0, -1):
        hit = table.get(".".join(parts[:n]))
        if hit:
            return hit[0], hit[1], ".".join(parts[n:]) + "."
    return None


class UNetNames:
    def __init__(self, lay: UNetLayout):
        pairs = unet_prefix_pairs(lay)
        self._fwd = {o: (d, k) for o, d, k in pairs}
        self._inv = {d: (o, k) for o, d, k in pairs}

    def to_diffusers(self, original_key: str) -> str | None:
        """Diffusers name for a key under model.diffusion_model., or None if unmapped."""
        hit = _lookup(original_key[len(UNET_PREFIX) :], self._fwd)
        if not hit:
            return None
        prefix, kind, suffix = hit
        return f"{prefix}.{_rename_suffix(suffix, kind, True)}"[:-1]

    def to_original(self, diffusers_key: str) -> str | None:
        hit = _lookup(diffusers_key, self._inv)
        if not hit:
            return None
        prefix, kind, suffix = hit
        return UNET_PREFIX + f"{prefix}.{_rename_suffix(suffix, kind, False)}"[:-1]
