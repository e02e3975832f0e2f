"""Original (ldm AutoencoderKL) VAE names <-> diffusers AutoencoderKL names.

The decoder's `up.i` counts from the lowest resolution in the original code and
from the highest in diffusers, hence the index flip. The mid-block attention is
1x1 convolutions in the original and linear layers in diffusers: same numbers,
shape [C, C, 1, 1] vs [C, C] (the `squeeze` marker).
"""

from __future__ import annotations

import re

VAE_PREFIX = "first_stage_model."
_ATTN = (("norm.", "group_norm."), ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."), ("proj_out.", "to_out.0."))


def vae_levels(keys) -> int:
    return len({m.group(1) for k in keys if (m := re.match(r"first_stage_model\.encoder\.down\.(\d+)\.", k))})


def _pairs(levels: int) -> list[tuple[str, str]]:
    pairs = [("quant_conv", "quant_conv"), ("post_quant_conv", "post_quant_conv")]
    for side in ("encoder", "decoder"):
        pairs += [
            (f"{side}.conv_in", f"{side}.conv_in"),
            (f"{side}.conv_out", f"{side}.conv_out"),
            (f"{side}.norm_out", f"{side}.conv_norm_out"),
            (f"{side}.mid.block_1", f"{side}.mid_block.resnets.0"),
            (f"{side}.mid.block_2", f"{side}.mid_block.resnets.1"),
            (f"{side}.mid.attn_1", f"{side}.mid_block.attentions.0"),
        ]
    for i in range(levels):
        pairs.append((f"encoder.down.{i}.block", f"encoder.down_blocks.{i}.resnets"))
        pairs.append((f"encoder.down.{i}.downsample.conv", f"encoder.down_blocks.{i}.downsamplers.0.conv"))
        u = levels - 1 - i
        pairs.append((f"decoder.up.{i}.block", f"decoder.up_blocks.{u}.resnets"))
        pairs.append((f"decoder.up.{i}.upsample.conv", f"decoder.up_blocks.{u}.upsamplers.0.conv"))
    return pairs


class VaeNames:
    def __init__(self, levels: int):
        pairs = _pairs(levels)
        self._fwd = dict(pairs)
        self._inv = {d: o for o, d in pairs}

    @staticmethod
    def _map(key: str, table: dict[str, str], forward: bool) -> tuple[str, bool] | None:
        parts = key.split(".")
        for n in range(len(parts) - 1, 0, -1):
            head = ".".join(parts[:n])
            if head in table:
                new_head, rest = table[head], ".".join(parts[n:]) + "."
                is_attn = head.endswith("attn_1" if forward else "attentions.0")
                if is_attn:
                    for a, b in _ATTN:
                        a, b = (a, b) if forward else (b, a)
                        if rest.startswith(a):
                            rest = b + rest[len(a) :]
                            break
                else:
                    rest = (
                        rest.replace("nin_shortcut.", "conv_shortcut.")
                        if forward
                        else rest.replace("conv_shortcut.", "nin_shortcut.")
                    )
                squeeze = is_attn and rest.endswith("weight.") and not rest.startswith(("norm", "group_norm"))
                return f"{new_head}.{rest}"[:-1], squeeze
        return None

    def to_diffusers(self, original_key: str) -> tuple[str, bool] | None:
        """(diffusers name, needs [C,C,1,1]->[C,C]) or None when unmapped."""
        return self._map(original_key[len(VAE_PREFIX) :], self._fwd, True)

    def to_original(self, diffusers_key: str) -> tuple[str, bool] | None:
        hit = self._map(diffusers_key, self._inv, False)
        return (VAE_PREFIX + hit[0], hit[1]) if hit else None
