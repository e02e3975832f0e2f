"""Shipped diffusers configs, fitted to the checkpoint at hand.

Each supported architecture has a JSON-only config folder in sdaws_jobs/configs (the
values of the official diffusers releases) so conversion never needs the network. The
sizes a file can state (channels, layer counts, input channels, cross-attention width,
vocabulary) are read from its shapes and override the shipped values, so fine-tunes
with unusual sizes -- and the tiny models the tests build -- convert too. Head counts
cannot be read from weights: the shipped per-head width is kept when it divides.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from .keymap_unet import UNET_PREFIX, layout_from_original


def configs_root() -> Path:
    return Path(str(resources.files("sdaws_jobs") / "configs"))


def shipped(arch: str, component: str, name: str = "config.json") -> dict:
    return json.loads((configs_root() / arch / component / name).read_text())


def fit_heads(width: int, shipped_width: int, shipped_heads: int) -> int:
    if width == shipped_width:
        return shipped_heads
    per_head = max(shipped_width // shipped_heads, 1)
    if width % per_head == 0:
        return width // per_head
    return max(h for h in range(1, shipped_heads + 1) if width % h == 0)


def _count(keys, pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in keys if (m := rx.match(k))})


def fit_unet(cfg: dict, shapes: dict, image_size: int, upcast: bool, prediction_type: str) -> dict:
    lay = layout_from_original(shapes)
    p = UNET_PREFIX
    step = lay.layers + 1
    channels = [shapes[f"{p}input_blocks.{1 + b * step}.0.in_layers.2.weight"][0] for b in range(lay.levels)]
    # Transformer depth per level; diffusers builds the mid block with the last entry,
    # so levels without attention (where depth means nothing) must not break that.
    mid = _count(shapes, rf"{re.escape(p)}middle_block\.1\.transformer_blocks\.(\d+)\.") or 1
    old_depth = cfg.get("transformer_layers_per_block", 1)
    depth = []
    for b in range(lay.levels):
        n = _count(shapes, rf"{re.escape(p)}input_blocks\.{1 + b * step}\.1\.transformer_blocks\.(\d+)\.")
        depth.append(n or (old_depth[min(b, len(old_depth) - 1)] if isinstance(old_depth, list) else mid))
    depth[-1] = mid if not lay.attention[-1] else depth[-1]
    cross = next((v[1] for k, v in shapes.items() if k.endswith("attn2.to_k.weight")), cfg["cross_attention_dim"])
    linear = next((len(v) == 2 for k, v in shapes.items() if k.startswith(p) and k.endswith("proj_in.weight")), True)
    old_heads = cfg["attention_head_dim"]
    old_list = old_heads if isinstance(old_heads, list) else [old_heads] * len(cfg["block_out_channels"])
    old_ch = cfg["block_out_channels"]
    heads = [
        fit_heads(c, old_ch[min(i, len(old_ch) - 1)], old_list[min(i, len(old_list) - 1)])
        for i, c in enumerate(channels)
    ]
    cfg = dict(cfg)
    cfg.update(
        block_out_channels=channels,
        layers_per_block=lay.layers,
        in_channels=shapes[f"{p}input_blocks.0.0.weight"][1],
        out_channels=shapes[f"{p}out.2.weight"][0],
        cross_attention_dim=cross,
        use_linear_projection=linear,
        down_block_types=["CrossAttnDownBlock2D" if a else "DownBlock2D" for a in lay.attention],
        up_block_types=["CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(lay.attention)],
        attention_head_dim=heads[0] if isinstance(old_heads, int) and len(set(heads)) == 1 else heads,
        sample_size=image_size // 8,
        upcast_attention=upcast,
    )
    if "transformer_layers_per_block" in cfg or len(set(depth)) > 1:
        cfg["transformer_layers_per_block"] = depth[0] if len(set(depth)) == 1 else depth
    if f"{p}label_emb.0.0.weight" in shapes:
        cfg["projection_class_embeddings_input_dim"] = shapes[f"{p}label_emb.0.0.weight"][1]
    return cfg


def fit_vae(cfg: dict, shapes: dict, image_size: int) -> dict:
    e = "first_stage_model.encoder."
    levels = _count(shapes, rf"{re.escape(e)}down\.(\d+)\.")
    cfg = dict(cfg)
    cfg.update(
        block_out_channels=[shapes[f"{e}down.{i}.block.0.conv1.weight"][0] for i in range(levels)],
        layers_per_block=_count(shapes, rf"{re.escape(e)}down\.0\.block\.(\d+)\."),
        latent_channels=shapes["first_stage_model.post_quant_conv.weight"][1],
        in_channels=shapes[f"{e}conv_in.weight"][1],
        out_channels=shapes["first_stage_model.decoder.conv_out.weight"][0],
        down_block_types=["DownEncoderBlock2D"] * levels,
        up_block_types=["UpDecoderBlock2D"] * levels,
        sample_size=image_size,
    )
    return cfg


def fit_clip_l(cfg: dict, shapes: dict, prefix: str) -> dict:
    def s(name):
        return shapes.get(prefix + "text_model." + name) or shapes[prefix + name]

    width = s("embeddings.token_embedding.weight")[1]
    layers = _count(shapes, rf"{re.escape(prefix)}(?:text_model\.)?encoder\.layers\.(\d+)\.")
    cfg = dict(cfg)
    cfg.update(
        hidden_size=width,
        vocab_size=s("embeddings.token_embedding.weight")[0],
        max_position_embeddings=s("embeddings.position_embedding.weight")[0],
        intermediate_size=s("encoder.layers.0.mlp.fc1.weight")[0],
        num_hidden_layers=layers,
        num_attention_heads=fit_heads(width, cfg["hidden_size"], cfg["num_attention_heads"]),
    )
    return cfg


def fit_open_clip(cfg: dict, shapes: dict, prefix: str, drop_last: bool) -> dict:
    width = shapes[prefix + "token_embedding.weight"][1]
    blocks = _count(shapes, rf"{re.escape(prefix)}transformer\.resblocks\.(\d+)\.")
    cfg = dict(cfg)
    cfg.update(
        hidden_size=width,
        vocab_size=shapes[prefix + "token_embedding.weight"][0],
        max_position_embeddings=shapes[prefix + "positional_embedding"][0],
        intermediate_size=shapes[prefix + "transformer.resblocks.0.mlp.c_fc.weight"][0],
        num_hidden_layers=blocks - 1 if drop_last else blocks,
        num_attention_heads=fit_heads(width, cfg["hidden_size"], cfg["num_attention_heads"]),
    )
    if prefix + "text_projection" in shapes:
        cfg["projection_dim"] = shapes[prefix + "text_projection"][1]
    return cfg
